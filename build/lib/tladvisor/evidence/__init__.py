"""Evidence measured on the client's own data: backbone ranking, learning-curve forecast, from-scratch baseline,
likely mislabels. Built on the training layer's tasks and feature cache."""
