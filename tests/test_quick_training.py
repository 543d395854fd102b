"""NMA_DECODING_QUICK: the cap on training iterations that tests running whole notebooks set."""

from __future__ import annotations

import torch
from torch import nn

from helpers import settings, training


def test_the_cap_shortens_both_loops_and_unset_trains_in_full(monkeypatch):
    data, targets = torch.randn(8, 3), torch.randn(8, 1)
    stimuli, resp = torch.randn(4, 1, 3, 3), torch.randn(4, 5)

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.out_layer = nn.Linear(9, 5)

        def forward(self, s):
            return self.out_layer(s.flatten(start_dim=1))

    def lengths():
        decoder = training.train(
            nn.Linear(3, 1), nn.MSELoss(), data, targets, n_iter=20, learning_rate=0.01, progress=False
        )
        encoder = training.train_encoding_model(
            Encoder(), stimuli, resp, resp, n_iter=20, learning_rate=0.01, progress=False
        )
        return len(decoder.train_loss), len(encoder.train_loss)

    monkeypatch.delenv(settings.ENV_QUICK, raising=False)
    assert lengths() == (20, 20)
    monkeypatch.setenv(settings.ENV_QUICK, "3")
    assert lengths() == (3, 3)
    monkeypatch.setenv(settings.ENV_QUICK, "50")  # a cap above n_iter changes nothing
    assert lengths() == (20, 20)
