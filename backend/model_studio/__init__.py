"""Model Studio: design, validate, compile, train and export 2048-playing networks."""

__version__ = "0.1.0"
