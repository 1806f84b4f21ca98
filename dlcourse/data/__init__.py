"""Data sets of the homework: FashionMNIST (Problem 3), Flickr8K and its offline stand-in (Problem 2).

All of them live under one data root, see :func:`dlcourse.data.paths.data_root`.
"""
