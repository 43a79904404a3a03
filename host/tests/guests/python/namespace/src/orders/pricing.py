def total(items):
    return sum(item["price"] * item.get("quantity", 1) for item in items)
