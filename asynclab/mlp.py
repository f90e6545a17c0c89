"""A multilayer perceptron in numpy: forward pass, hand-written backpropagation.

A :class:`Network` knows only its layer sizes and activation; its
parameters are one flat float64 vector, so every policy and every backend
(shared memory, Ray messages) handles them like any other problem's. Layer
``l`` owns a weight matrix ``W`` of shape (inputs, outputs) followed by a
bias vector ``b`` in that vector; :meth:`Network.unpack` gives views, no
copies. The output layer is linear and feeds a softmax cross-entropy loss
(the mean over the examples). With no hidden layer this is multinomial
logistic regression.
"""
from __future__ import annotations

import numpy as np

ACTIVATIONS = ("relu", "tanh")


def _activate(kind, z):
    return np.maximum(z, 0.0) if kind == "relu" else np.tanh(z)


def _activation_slope(kind, h):
    """The activation's derivative, written in terms of its output ``h``."""
    return (h > 0.0) if kind == "relu" else 1.0 - h * h


def _log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class Network:
    """A fully connected network with sizes ``(inputs, hidden..., classes)``."""

    def __init__(self, sizes, activation="relu"):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, "
                             f"got {activation!r}")
        self.sizes, self.activation = tuple(int(n) for n in sizes), activation
        self._layers, offset = [], 0     # (start of W, start of b, end of b, W's shape)
        for n_in, n_out in zip(self.sizes, self.sizes[1:]):
            b_start = offset + n_in * n_out
            self._layers.append((offset, b_start, b_start + n_out, (n_in, n_out)))
            offset = b_start + n_out
        self.dim = offset                 # length of the parameter vector

    def unpack(self, w):
        """[(W, b), ...] per layer: views into the flat vector ``w``."""
        return [(w[a:b].reshape(shape), w[b:c]) for a, b, c, shape in self._layers]

    def initial(self, rng):
        """Weights drawn from ``rng``, biases zero: He normal for ReLU (std
        sqrt(2 / inputs)), Glorot uniform for tanh (within sqrt(6 / (inputs + outputs)))."""
        w = np.zeros(self.dim)
        for W, _ in self.unpack(w):
            n_in, n_out = W.shape
            if self.activation == "relu":
                W[:] = rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)
            else:
                limit = np.sqrt(6.0 / (n_in + n_out))
                W[:] = rng.uniform(-limit, limit, (n_in, n_out))
        return w

    def _forward(self, w, X):
        """The logits, and the input of every layer (X, then each hidden output)."""
        layers = self.unpack(w)
        inputs, h = [X], X
        for W, b in layers[:-1]:
            h = _activate(self.activation, h @ W + b)
            inputs.append(h)
        W, b = layers[-1]
        return h @ W + b, inputs, layers

    def logits(self, w, X):
        return self._forward(w, X)[0]

    def loss(self, w, X, y):
        """Mean softmax cross-entropy of the examples ``X`` with labels ``y``."""
        log_p = _log_softmax(self.logits(w, X))
        return float(-np.mean(log_p[np.arange(len(y)), y]))

    def loss_and_accuracy(self, w, X, y):
        """(mean cross-entropy, fraction of examples whose largest logit is their label)."""
        z = self.logits(w, X)
        log_p = _log_softmax(z)
        return (float(-np.mean(log_p[np.arange(len(y)), y])),
                float(np.mean(z.argmax(axis=1) == y)))

    def gradient(self, w, X, y):
        """Gradient of :meth:`loss` by backpropagation, as one flat vector."""
        z, inputs, layers = self._forward(w, X)
        n = len(y)
        # d loss / d logits = (softmax - one-hot) / n
        p = np.exp(_log_softmax(z))
        p[np.arange(n), y] -= 1.0
        dz = p / n
        grad = np.empty(self.dim)
        for l in range(len(layers) - 1, -1, -1):
            a, b, c, shape = self._layers[l]
            grad[a:b] = (inputs[l].T @ dz).ravel()
            grad[b:c] = dz.sum(axis=0)
            if l:
                dz = (dz @ layers[l][0].T) * _activation_slope(self.activation, inputs[l])
        return grad
