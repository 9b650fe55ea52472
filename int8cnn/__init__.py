"""int8cnn: Python flow (data -> model -> quantize -> export -> golden) for the int8 CNN accelerator."""
__version__ = "0.1.0"
