"""Problem 1: min_x max_y f(x, y) = 4x^2 - 4y^2 and gradient descent-ascent.

``functions``   the games (quadratic: the homework game, f = xy, random coupled games)
``saddle``      (a) critical point and its type - written by students
``steps``       (b), (d) one GDA step, its closed form, one plain-GD step - written by students
``convergence`` (c), (d) GDA's step-size interval, when plain GD reaches the saddle - written by students
``dynamics``    all update rules (also alternating GDA, extragradient, optimistic GDA) and the runner
``analysis``    exact derivations with sympy (update matrices, spectral radii, stability intervals)
``plots``       contour/trajectory, log-distance and phase-diagram figures
``cli``         ``dlcourse minimax analyze | plot``
"""
