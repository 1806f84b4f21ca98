"""Your Homework 3 code: clip."""
