# The blitz tutorial's CNN ported to chainrule (docs/porting.md).

# --8<-- [start:net]
import chainrule.nn as nn
import chainrule.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)  # used twice: each call keeps its own cache
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        a1 = F.relu(self.conv1(x))
        x = self.pool(a1)
        a2 = F.relu(self.conv2(x))
        x = self.pool(a2)
        shape = x.shape
        x = x.reshape(len(x), -1)  # torch.flatten(x, 1)
        a3 = F.relu(self.fc1(x))
        a4 = F.relu(self.fc2(a3))
        x = self.fc3(a4)
        self.save_for_backward(a1, a2, a3, a4, shape)  # relu' reads its output
        return x

    def backward(self, grad):  # the forward's lines, last to first
        a1, a2, a3, a4, shape = self.saved_tensors
        grad = self.fc3.backward(grad)
        grad = self.fc2.backward(F.relu_backward(grad, a4))
        grad = self.fc1.backward(F.relu_backward(grad, a3))
        grad = grad.reshape(shape)
        grad = self.conv2.backward(F.relu_backward(self.pool.backward(grad), a2))  # pool's 2nd use
        grad = self.conv1.backward(F.relu_backward(self.pool.backward(grad), a1))  # then its 1st
        return grad
# --8<-- [end:net]
