"""Course machinery: the exercise generator, the autograder and its pytest plugin, and the runner every step script uses."""
