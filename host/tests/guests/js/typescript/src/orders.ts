export enum Status {
  Open = "OPEN",
  Shipped = "SHIPPED",
}

export interface Order {
  id: string;
  quantity: number;
  unitPrice: number;
  status: Status;
}

export function total(orders: readonly Order[]): number {
  return orders.reduce((sum: number, order: Order) => sum + order.quantity * order.unitPrice, 0);
}

export class OrderBook {
  private readonly orders: Order[] = [];

  constructor(private readonly owner: string) {}

  add(order: Order): this {
    this.orders.push(order);
    return this;
  }

  summary(): { owner: string; count: number; total: number } {
    return { owner: this.owner, count: this.orders.length, total: total(this.orders) };
  }
}
