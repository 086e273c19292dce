# torchvision's BasicBlock and the two-block network ported to chainrule (docs/porting.md).

# --8<-- [start:block]
import chainrule.nn as nn


def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)  # used twice, as in torchvision
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.downsample is not None:
            identity = self.downsample(x)

        out += identity
        out = self.relu(out)

        return out

    def backward(self, grad):  # x reaches the sum twice
        grad = self.relu.backward(grad)  # its second use
        grad_identity = grad  # the shortcut's: x itself, or downsample(x)
        if self.downsample is not None:
            grad_identity = self.downsample.backward(grad)
        grad = self.conv2.backward(self.bn2.backward(grad))
        grad = self.conv1.backward(self.bn1.backward(self.relu.backward(grad)))
        return grad + grad_identity
# --8<-- [end:block]


# --8<-- [start:net]
def init(m):
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.constant_(m.weight, 1)
        nn.init.constant_(m.bias, 0)


class TinyResNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.layer = nn.Sequential(
            BasicBlock(8, 8),
            BasicBlock(8, 16, stride=2,
                       downsample=nn.Sequential(conv1x1(8, 16, 2), nn.BatchNorm2d(16))),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, num_classes)
        self.apply(init)

    def forward(self, x):
        x = self.layer(x)
        x = self.avgpool(x)
        x = x.reshape(len(x), -1)  # torch.flatten(x, 1)
        x = self.fc(x)
        return x

    def backward(self, grad):
        grad = self.fc.backward(grad)
        grad = self.avgpool.backward(grad.reshape(len(grad), -1, 1, 1))
        return self.layer.backward(grad)
# --8<-- [end:net]
