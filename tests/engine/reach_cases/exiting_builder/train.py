from net import Head, Net

if __name__ == "__main__":
    model = Net(16)
    head = Head(16)
