from net import Net

model = Net(16, freeze_backbone=True)
