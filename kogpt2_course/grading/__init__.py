"""Course machinery: the exercise generator, the autograder (one student: grader; a whole class: classroom, worker, gradebook) and its pytest plugin, and the runner every step script uses."""
