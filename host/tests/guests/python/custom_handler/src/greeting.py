PREFIX = "Howdy"
