"""The evaluation classifier: a CNN trained on the training split, for the quality table.

images float32 [B, 1, 28, 28] in [0, 1] → (logits [B, 10], features [B, 128]); the features are
the penultimate layer, the space where the Fréchet distance is measured.
"""
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self, features=128):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),       # 14×14
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),      # 7×7
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(128 * 7 * 7, features)
        self.head = nn.Linear(features, 10)

    def forward(self, images):
        f = F.relu(self.fc(self.conv(images).flatten(1)))
        return self.head(f), f
