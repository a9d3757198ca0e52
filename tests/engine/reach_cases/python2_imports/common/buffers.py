import random


class Buffer:
    def __init__(self, capacity):
        self.capacity = capacity
        self.items = []

    def push(self, item):
        self.items = (self.items + [item])[-self.capacity:]

    def sample(self, n):
        return random.sample(self.items, n)
