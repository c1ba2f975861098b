"""What every sound is: the ten instrument families, the model that hears them, and its training."""
