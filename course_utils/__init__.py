"""course_utils: the small library behind the gradient-checking notebooks.

One module per concept; import what you need explicitly, e.g.::

    from course_utils.gradcheck import check_gradients
    from course_utils.parameters import dictionary_to_vector, vector_to_dictionary

Importing this package does nothing else: no global state, no random seeding.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
