"""PyTorch reference of sdkd's models and losses (bench/reference/README.md); measurement only."""
