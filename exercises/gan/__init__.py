"""Your Homework 3 code: gan."""
