"""The generator of events/: `python events/generate_samples.py` runs `samples.generate.main`."""
