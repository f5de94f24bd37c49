"""Pictures of a run: its cells, its mixing weights over the epochs, its loss and accuracy
curves."""
