"""Your Homework 3 code: minimax."""
