"""Your Homework 3 submission (mirrors the dlcourse package)."""
