from net import Net

widths = [int(line) for line in open("widths.txt")]
model = Net(widths[0])
