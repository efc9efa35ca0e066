r"""Student code for every catalogued mistake, and correct variants that differ from the masters.

Machinery: the demo class and the tests draw on these sources; a student does not need this module to
follow the course.

Each entry is the *source text* of an exercise function as a student would leave it in the notebook
cell (the function only: the cell's demo line after it needs notebook context). ``WRONG`` maps a mistake
id of ``course_utils.mistakes`` to one or more sources making that mistake; ``CORRECT`` maps
``<exercise>.correct_<n>`` to a source that is right but differs from the master. The sources are only
text here: ``python -m autograder demo-class`` writes them into notebooks for the grader (which runs them
in its sandbox), and ``tests/student_mistakes.py`` loads them in the tests. Nothing here executes them.
"""

import textwrap

__all__ = ["CORRECT", "WRONG", "exercise_of", "implementations"]

# ---------------------------------------------------------------------------------------------------
# Cells of notebook 01
# ---------------------------------------------------------------------------------------------------

_VERDICT_1D = r'''    if print_msg:
        if difference < 1e-7:
            print(f"\033[92m\u2714 backward propagation agrees with the centered difference "
                  f"(difference = {difference:.1e})\033[0m")
        else:
            print(f"\033[91m\u2718 backward propagation disagrees with the centered difference "
                  f"(difference = {difference:.1e})\033[0m")
    return difference
'''


def _fp(body):
    return "def forward_propagation(x, theta):\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"


def _bp(body):
    return "def backward_propagation(x, theta):\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"


def _gc(body, verdict=_VERDICT_1D):
    """A gradient_check cell: the student's solution region, then the given verdict code."""
    return ("def gradient_check(x, theta, epsilon=1e-7, print_msg=False):\n"
            + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n" + verdict)


def _centered_1d(gradapprox="(J_plus - J_minus) / (2 * epsilon)", plus="theta + epsilon",
                 minus="theta - epsilon", grad="backward_propagation(x, theta)",
                 difference="float(numerator / denominator)",
                 numerator="np.linalg.norm(grad - gradapprox)",
                 denominator="np.linalg.norm(grad) + np.linalg.norm(gradapprox)"):
    """The master's solution region with some expressions replaced, as a student edits it."""
    return _gc(f"""
        theta_plus = {plus}
        theta_minus = {minus}
        J_plus = forward_propagation(x, theta_plus)
        J_minus = forward_propagation(x, theta_minus)
        gradapprox = {gradapprox}

        grad = {grad}

        numerator = {numerator}
        denominator = {denominator}
        difference = {difference}
        """)


_WRONG_01 = {
    "forward_propagation.added": (_fp("J = theta + x\nreturn J"),),
    "forward_propagation.returned_x": (_fp("J = x\nreturn J"),),
    "forward_propagation.returned_theta": (_fp("return theta"),),
    "forward_propagation.squared_input": (_fp("J = theta * x * x\nreturn J"), _fp("return theta * x ** 2")),
    "forward_propagation.squared_cost": (_fp("J = (theta * x) ** 2 / 2\nreturn J"),),
    "forward_propagation.no_return": (_fp("J = theta * x"),),
    "forward_propagation.printed_not_returned": (_fp("J = theta * x\nprint(J)"),),
    "forward_propagation.returned_tuple": (_fp("J = theta * x\ncache = (x, theta)\nreturn J, cache"),),
    "backward_propagation.returned_theta": (_bp("dtheta = theta\nreturn dtheta"),),
    "backward_propagation.returned_cost": (_bp("dtheta = theta * x\nreturn dtheta"),),
    "backward_propagation.returned_zero": (_bp("dtheta = 0  # theta does not appear in x\nreturn dtheta"),),
    "backward_propagation.returned_one": (_bp("dtheta = 1.0\nreturn dtheta"),),
    "backward_propagation.negated": (_bp("dtheta = -x\nreturn dtheta"),),
    "backward_propagation.divided_by_theta": (_bp("J = theta * x\ndtheta = J / theta\nreturn dtheta"),),
    "backward_propagation.no_return": (_bp("dtheta = x"),),
    "gradient_check.forward_difference": (
        _gc("""
            J_plus = forward_propagation(x, theta + epsilon)
            J = forward_propagation(x, theta)
            gradapprox = (J_plus - J) / epsilon
            grad = backward_propagation(x, theta)
            difference = float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))
            """),),
    "gradient_check.backward_difference": (
        _gc("""
            J = forward_propagation(x, theta)
            J_minus = forward_propagation(x, theta - epsilon)
            gradapprox = (J - J_minus) / epsilon
            grad = backward_propagation(x, theta)
            difference = float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))
            """),),
    "gradient_check.one_sided_half": (_centered_1d(minus="theta"),),
    "gradient_check.divided_by_epsilon": (_centered_1d(gradapprox="(J_plus - J_minus) / epsilon"),),
    "gradient_check.missing_parentheses": (_centered_1d(gradapprox="J_plus - J_minus / (2 * epsilon)"),),
    "gradient_check.divided_then_multiplied": (_centered_1d(gradapprox="(J_plus - J_minus) / 2 * epsilon"),),
    "gradient_check.plus_twice": (_centered_1d(minus="theta + epsilon"),),
    "gradient_check.minus_twice": (_centered_1d(plus="theta - epsilon"),),
    "gradient_check.sign_error": (_centered_1d(gradapprox="(J_minus - J_plus) / (2 * epsilon)"),),
    "gradient_check.perturbed_x": (
        _gc("""
            J_plus = forward_propagation(x + epsilon, theta)
            J_minus = forward_propagation(x - epsilon, theta)
            gradapprox = (J_plus - J_minus) / (2 * epsilon)
            grad = backward_propagation(x, theta)
            numerator = np.linalg.norm(grad - gradapprox)
            denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
            difference = float(numerator / denominator)
            """),),
    "gradient_check.returned_gradapprox": (_centered_1d(difference="float(gradapprox)"),),
    "gradient_check.no_denominator": (_centered_1d(difference="float(numerator)"),),
    "gradient_check.grad_only_denominator": (_centered_1d(denominator="np.linalg.norm(grad)"),),
    "gradient_check.norm_of_sum": (_centered_1d(denominator="np.linalg.norm(grad + gradapprox)"),),
    "gradient_check.difference_of_norms": (
        _centered_1d(numerator="np.linalg.norm(grad) - np.linalg.norm(gradapprox)"),
        _centered_1d(numerator="abs(np.linalg.norm(grad) - np.linalg.norm(gradapprox))")),
    "gradient_check.ignored_epsilon": (
        _centered_1d(plus="theta + 1e-7", minus="theta - 1e-7", gradapprox="(J_plus - J_minus) / (2 * 1e-7)"),
        _gc("""
            epsilon = 1e-7
            gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
            grad = backward_propagation(x, theta)
            difference = float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))
            """)),
    "gradient_check.prints_when_quiet": (
        _gc("""
            gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
            grad = backward_propagation(x, theta)
            difference = float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))
            print("difference =", difference)
            """),
        _gc("""
            gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
            grad = backward_propagation(x, theta)
            difference = float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))
            """, verdict=_VERDICT_1D.replace("    if print_msg:\n", "    if True:\n"))),
    "gradient_check.returns_verdict": (
        _gc("""
            gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
            grad = backward_propagation(x, theta)
            difference = float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))
            return difference < 1e-7
            """),),
    "gradient_check.self_comparison": (_centered_1d(grad="gradapprox"),),
    "gradient_check.grad_at_perturbed_theta": (
        _gc("""
            theta = theta + epsilon
            J_plus = forward_propagation(x, theta)
            theta = theta - 2 * epsilon
            J_minus = forward_propagation(x, theta)
            gradapprox = (J_plus - J_minus) / (2 * epsilon)
            grad = backward_propagation(x, theta)
            difference = float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))
            """),),
    "gradient_check.theta_passed_unperturbed": (
        _gc("""
            theta_plus = theta + epsilon
            theta_minus = theta - epsilon
            J_plus = forward_propagation(x, theta)
            J_minus = forward_propagation(x, theta_minus)
            gradapprox = (J_plus - J_minus) / (2 * epsilon)
            grad = backward_propagation(x, theta)
            difference = float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))
            """),),
    "gradient_check.old_signature": (
        """def gradient_check(x, theta, epsilon=1e-7):
    thetaplus = theta + epsilon
    thetaminus = theta - epsilon
    gradapprox = (forward_propagation(x, thetaplus) - forward_propagation(x, thetaminus)) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    difference = np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
    if difference < 1e-7:
        print("the gradient is correct")
    else:
        print("the gradient is wrong")
    return difference
""",),
    "gradient_check.returned_array": (
        _gc("""
            gradapprox = np.array([(forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)])
            grad = np.array([backward_propagation(x, theta)])
            difference = np.abs(grad - gradapprox) / (np.abs(grad) + np.abs(gradapprox))
            """),),
}

_CORRECT_01 = {
    "forward_propagation.correct_1": _fp("return x * theta"),
    "forward_propagation.correct_2": _fp("J = np.multiply(theta, x)\nreturn J"),
    "forward_propagation.correct_3": _fp("J = np.dot(theta, x)  # a product of two scalars\nreturn float(J)"),
    "backward_propagation.correct_1": _bp("return x"),
    "backward_propagation.correct_2": _bp("dtheta = np.float64(x) * 1.0\nreturn dtheta"),
    "gradient_check.correct_1": _gc("""
        J_plus, J_minus = forward_propagation(x, theta + epsilon), forward_propagation(x, theta - epsilon)
        gradapprox = 0.5 * (J_plus - J_minus) / epsilon
        grad = backward_propagation(x, theta)
        difference = abs(grad - gradapprox) / (abs(grad) + abs(gradapprox))
        """),
    "gradient_check.correct_2": _gc("""
        plus = forward_propagation(x, epsilon + theta)
        minus = forward_propagation(x, -epsilon + theta)
        approx = (plus - minus) / epsilon / 2
        exact = backward_propagation(x, theta)
        difference = np.linalg.norm(exact - approx) / (np.linalg.norm(approx) + np.linalg.norm(exact))
        """),
    "gradient_check.correct_3": _gc("""
        gradapprox = np.array([forward_propagation(x, theta + s * epsilon) for s in (1, -1)])
        gradapprox = (gradapprox[0] - gradapprox[1]) / (2.0 * epsilon)
        grad = backward_propagation(x, theta)
        difference = (np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))).item()
        if print_msg:
            print(f"grad = {grad}, gradapprox = {gradapprox}")
        """),
    "gradient_check.correct_4": _gc("""
        grad = backward_propagation(x, theta)
        J_minus = forward_propagation(x, theta - epsilon)
        J_plus = forward_propagation(x, theta + epsilon)
        J = forward_propagation(x, theta)  # printed below, not used in the check
        gradapprox = (J_plus - J_minus) / (2 * epsilon)
        difference = float(np.linalg.norm(gradapprox - grad) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))
        if print_msg:
            print("J =", J)
        """, verdict=_VERDICT_1D.replace("difference < 1e-7", "difference <= 1e-7")),
    "gradient_check.correct_5": _gc("""
        thetaplus = theta + epsilon
        thetaminus = theta - epsilon
        J_plus = forward_propagation(x=x, theta=thetaplus)  # keyword arguments, in any order
        J_minus = forward_propagation(theta=thetaminus, x=x)
        gradapprox = (J_plus - J_minus) / (2 * epsilon)
        grad = backward_propagation(x=x, theta=theta)
        difference = float(np.abs(grad - gradapprox) / (np.abs(grad) + np.abs(gradapprox)))
        """, verdict=_VERDICT_1D.replace("difference < 1e-7", "1e-7 > difference")),
}

# ---------------------------------------------------------------------------------------------------
# Cells of notebook 02
# ---------------------------------------------------------------------------------------------------

_VERDICT_ND = r'''    if print_msg:
        if difference < 2e-7:
            print(f"\033[92m\u2714 backward propagation agrees with the centered differences "
                  f"(difference = {difference:.1e})\033[0m")
        else:
            print(f"\033[91m\u2718 backward propagation disagrees with the centered differences "
                  f"(difference = {difference:.1e})\033[0m")
    return difference
'''

_GIVEN_ND = '''def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    parameters_values, _ = dictionary_to_vector(parameters)  # shape (n, 1)
    grad = gradients_to_vector(gradients, parameters)  # shape (n, 1)
    num_parameters = parameters_values.shape[0]
    J_plus = np.zeros((num_parameters, 1))
    J_minus = np.zeros((num_parameters, 1))
    gradapprox = np.zeros((num_parameters, 1))
'''

_LOOP_ND = '''
    for i in range(num_parameters):
        theta_plus = np.copy(parameters_values)
        theta_plus[i] = theta_plus[i] + epsilon
        J_plus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_plus, parameters))

        theta_minus = np.copy(parameters_values)
        theta_minus[i] = theta_minus[i] - epsilon
        J_minus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_minus, parameters))

        gradapprox[i] = (J_plus[i] - J_minus[i]) / (2 * epsilon)
'''

_TAIL_ND = '''
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    difference = float(numerator / denominator)
'''


def _gcn(*edits, loop=_LOOP_ND, tail=_TAIL_ND, given=_GIVEN_ND, verdict=_VERDICT_ND):
    """A gradient_check_n cell: the given lines, the student's loop and comparison, the given verdict.

    edits : (old, new) pairs applied to the whole text, as a student edits the master's lines.
    """
    source = given + loop + tail + verdict
    for old, new in edits:
        if old not in source:
            raise ValueError(f"edit target {old!r} not in the cell")
        source = source.replace(old, new)
    return source


def _loop_nd(body):
    body = textwrap.indent(textwrap.dedent(body).strip("\n"), "        ")
    return "\n    for i in range(num_parameters):\n" + body + "\n"


_WRONG_02 = {
    "gradient_check_n.forgot_copy": (
        _gcn(("theta_plus = np.copy(parameters_values)", "theta_plus = parameters_values"),
             ("theta_minus = np.copy(parameters_values)", "theta_minus = parameters_values")),),
    "gradient_check_n.copied_once": (
        _gcn(loop="""
    theta_plus = np.copy(parameters_values)
    theta_minus = np.copy(parameters_values)
""" + _loop_nd("""
            theta_plus[i] = theta_plus[i] + epsilon
            J_plus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_plus, parameters))
            theta_minus[i] = theta_minus[i] - epsilon
            J_minus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_minus, parameters))
            gradapprox[i] = (J_plus[i] - J_minus[i]) / (2 * epsilon)
            """)),),
    "gradient_check_n.unrestored_perturbation": (
        _gcn(loop="\n    theta = np.copy(parameters_values)\n" + _loop_nd("""
            theta[i] += epsilon
            J_plus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(theta, parameters))
            theta[i] -= 2 * epsilon
            J_minus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(theta, parameters))
            gradapprox[i] = (J_plus[i] - J_minus[i]) / (2 * epsilon)
            """)),),
    "gradient_check_n.all_entries_perturbed": (
        _gcn(("theta_plus[i] = theta_plus[i] + epsilon", "theta_plus = theta_plus + epsilon"),
             ("theta_minus[i] = theta_minus[i] - epsilon", "theta_minus = theta_minus - epsilon")),),
    "gradient_check_n.last_entry_skipped": (_gcn(("range(num_parameters)", "range(num_parameters - 1)")),),
    "gradient_check_n.other_key_order": (
        _gcn(("grad = gradients_to_vector(gradients, parameters)",
              "grad = np.concatenate([gradients[key].reshape(-1, 1) for key in sorted(gradients)])")),),
    "gradient_check_n.gradients_in_dict_order": (
        _gcn(("grad = gradients_to_vector(gradients, parameters)",
              "grad = np.concatenate([g.reshape(-1, 1) for g in gradients.values()])")),),
    "gradient_check_n.cost_cache_not_unpacked": (
        _gcn(("J_plus[i], _ = forward_propagation_n", "J_plus[i] = forward_propagation_n"),
             ("J_minus[i], _ = forward_propagation_n", "J_minus[i] = forward_propagation_n")),),
    "gradient_check_n.divided_by_epsilon": (_gcn(("/ (2 * epsilon)", "/ epsilon")),),
    "gradient_check_n.plus_twice": (
        _gcn(("theta_minus[i] = theta_minus[i] - epsilon", "theta_minus[i] = theta_minus[i] + epsilon")),),
    "gradient_check_n.sign_error": (_gcn(("(J_plus[i] - J_minus[i])", "(J_minus[i] - J_plus[i])")),),
    "gradient_check_n.forward_difference": (
        _gcn(loop="\n    J, _ = forward_propagation_n(X, Y, parameters)\n" + _loop_nd("""
            theta_plus = np.copy(parameters_values)
            theta_plus[i] = theta_plus[i] + epsilon
            J_plus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_plus, parameters))
            gradapprox[i] = (J_plus[i] - J) / epsilon
            """)),),
    "gradient_check_n.no_denominator": (_gcn(("float(numerator / denominator)", "float(numerator)")),),
    "gradient_check_n.grad_only_denominator": (
        _gcn(("denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)",
              "denominator = np.linalg.norm(grad)")),),
    "gradient_check_n.norm_of_sum": (
        _gcn(("denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)",
              "denominator = np.linalg.norm(grad + gradapprox)")),),
    "gradient_check_n.difference_of_norms": (
        _gcn(("numerator = np.linalg.norm(grad - gradapprox)",
              "numerator = abs(np.linalg.norm(grad) - np.linalg.norm(gradapprox))")),),
    "gradient_check_n.ignored_epsilon": (
        _gcn(("+ epsilon", "+ 1e-7"), ("- epsilon", "- 1e-7"), ("(2 * epsilon)", "(2 * 1e-7)")),
        _gcn(("    num_parameters = ", "    epsilon = 1e-7  # the course's step\n    num_parameters = "))),
    "gradient_check_n.prints_when_quiet": (
        _gcn(("difference = float(numerator / denominator)",
              "difference = float(numerator / denominator)\n    print(f\"difference = {difference}\")")),
        _gcn(loop=_LOOP_ND.replace("        gradapprox[i] = ",
                                   "        print(i, J_plus[i], J_minus[i])\n        gradapprox[i] = "))),
    "gradient_check_n.self_comparison": (
        _gcn(("numerator = np.linalg.norm(grad - gradapprox)",
              "grad = gradapprox\n    numerator = np.linalg.norm(grad - gradapprox)")),),
    "gradient_check_n.parameters_left_changed": (
        _gcn(loop="""
    i = 0
    for key in parameters:
        for index in np.ndindex(parameters[key].shape):
            parameters[key][index] += epsilon
            J_plus[i], _ = forward_propagation_n(X, Y, parameters)
            parameters[key][index] -= 2 * epsilon
            J_minus[i], _ = forward_propagation_n(X, Y, parameters)
            gradapprox[i] = (J_plus[i] - J_minus[i]) / (2 * epsilon)
            i += 1
"""),),
    "gradient_check_n.old_signature": (
        _gcn(("epsilon=1e-7, print_msg=False):", "epsilon=1e-7):"), verdict=r'''    if difference > 2e-7:
        print("There is a mistake in the backward propagation! difference = " + str(difference))
    else:
        print("Your backward propagation works perfectly fine! difference = " + str(difference))
    return difference
'''),),
    "gradient_check_n.old_helper_calls": (
        _gcn(("vector_to_dictionary(theta_plus, parameters)", "vector_to_dictionary(theta_plus)"),
             ("vector_to_dictionary(theta_minus, parameters)", "vector_to_dictionary(theta_minus)")),),
    "gradient_check_n.shape_broadcast": (
        _gcn(loop="""
    gradapprox = []
    for i in range(num_parameters):
        theta_plus = np.copy(parameters_values)
        theta_plus[i] += epsilon
        theta_minus = np.copy(parameters_values)
        theta_minus[i] -= epsilon
        J_plus, _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_plus, parameters))
        J_minus, _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_minus, parameters))
        gradapprox.append((J_plus - J_minus) / (2 * epsilon))
    gradapprox = np.array(gradapprox)
"""),),
    "gradient_check_n.returned_gradapprox": (
        _gcn(("difference = float(numerator / denominator)",
              "difference = float(numerator / denominator)\n    return gradapprox")),),
    "gradient_check_n.gradapprox_overwritten": (_gcn(("gradapprox[i] = ", "gradapprox = ")),),
}

_CORRECT_02 = {
    "gradient_check_n.correct_1": _gcn(loop="""
    def cost_at(i, step):
        theta = parameters_values.copy()
        theta[i, 0] += step
        return forward_propagation_n(X, Y, vector_to_dictionary(theta, parameters))[0]

    gradapprox = np.array([[(cost_at(i, epsilon) - cost_at(i, -epsilon)) / (2 * epsilon)]
                           for i in range(num_parameters)])
"""),
    "gradient_check_n.correct_2": _gcn(loop="""
    steps = epsilon * np.eye(num_parameters)
    for i in range(num_parameters):
        plus, _ = forward_propagation_n(X, Y, vector_to_dictionary(parameters_values + steps[:, [i]], parameters))
        minus, _ = forward_propagation_n(X, Y, vector_to_dictionary(parameters_values - steps[:, [i]], parameters))
        gradapprox[i, 0] = (plus - minus) / (2 * epsilon)
"""),
    "gradient_check_n.correct_3": _gcn(loop="\n    theta = np.copy(parameters_values)\n" + _loop_nd("""
        theta[i] += epsilon
        J_plus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(theta, parameters))
        theta[i] -= 2 * epsilon
        J_minus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(theta, parameters))
        theta[i] += epsilon  # back to where it was
        gradapprox[i] = (J_plus[i] - J_minus[i]) / (2 * epsilon)
        """)),
    "gradient_check_n.correct_4": _gcn(loop="\n    theta = parameters_values.copy()\n" + _loop_nd("""
        old = theta[i, 0]
        theta[i, 0] = old + epsilon
        J_plus[i], cache = forward_propagation_n(X, Y, vector_to_dictionary(theta, parameters))
        theta[i, 0] = old - epsilon
        J_minus[i], cache = forward_propagation_n(X, Y, vector_to_dictionary(theta, parameters))
        theta[i, 0] = old
        gradapprox[i] = (J_plus[i] - J_minus[i]) / (epsilon + epsilon)
        """)),
    "gradient_check_n.correct_5": _gcn(
        loop="""
    i = 0
    while i < num_parameters:
        thetaplus = parameters_values.copy()
        thetaplus[i][0] += epsilon
        thetaminus = parameters_values.copy()
        thetaminus[i][0] -= epsilon
        J_plus[i] = forward_propagation_n(X, Y, vector_to_dictionary(thetaplus, parameters))[0]
        J_minus[i] = forward_propagation_n(X, Y, vector_to_dictionary(thetaminus, parameters))[0]
        i += 1
    gradapprox = (J_plus - J_minus) / (2 * epsilon)
""",
        tail="""
    difference = np.linalg.norm(grad - gradapprox, 2) / (np.linalg.norm(grad, 2) + np.linalg.norm(gradapprox, 2))
    if print_msg:
        print("worst entry:", int(np.argmax(np.abs(grad - gradapprox))))
"""),
    "gradient_check_n.correct_6": _gcn(
        ("    parameters_values, _ = dictionary_to_vector(parameters)  # shape (n, 1)\n",
         "    parameters_values, keys = dictionary_to_vector(parameters)\n"
         "    parameters_values = parameters_values.ravel()\n"),
        ("    grad = gradients_to_vector(gradients, parameters)  # shape (n, 1)\n",
         "    grad = gradients_to_vector(gradients, parameters).ravel()\n"),
        ("np.zeros((num_parameters, 1))", "np.zeros(num_parameters)"),  # all three arrays
        ("float(numerator / denominator)", "numerator / denominator  # a numpy float64")),
    "gradient_check_n.correct_7": _gcn(loop="""
    J, _ = forward_propagation_n(X=X, Y=Y, parameters=parameters)  # the cost at theta itself, printed below

    def nudged(i, step):
        theta = np.copy(parameters_values)
        theta[i, 0] += step
        return vector_to_dictionary(theta, parameters)

    J_plus = np.array([[forward_propagation_n(X=X, Y=Y, parameters=nudged(i, epsilon))[0]] for i in range(num_parameters)])
    J_minus = np.array([[forward_propagation_n(X, Y, nudged(i, -epsilon))[0]] for i in range(num_parameters)])
    gradapprox = (J_plus - J_minus) / (2 * epsilon)
    if print_msg:
        print("J at theta:", J)
"""),
}

# ---------------------------------------------------------------------------------------------------
# Cells of notebook 03
# ---------------------------------------------------------------------------------------------------


def _k(body):
    return ("def k_from_report(report, name):\n    block = report.block(name)\n    r = block.relative_difference\n"
            + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n    return float(k)\n")


_WRONG_03K = {
    "k_from_report.cases_swapped": (
        _k("""
            if block.analytic_norm >= block.numeric_norm:
                k = (1 - r) / (1 + r)
            else:
                k = (1 + r) / (1 - r)
            """),
        _k("""
            if block.analytic_norm < block.numeric_norm:
                k = (1 + r) / (1 - r)
            else:
                k = (1 - r) / (1 + r)
            """)),
    "k_from_report.norm_ratio_inverted": (_k("k = block.numeric_norm / block.analytic_norm"),),
    "k_from_report.always_larger_case": (_k("k = (1 + r) / (1 - r)"),),
    "k_from_report.always_smaller_case": (_k("k = (1 - r) / (1 + r)"),),
    "k_from_report.returned_r": (_k("k = r"),),
    "k_from_report.negated": (
        _k("""
            if block.analytic_norm >= block.numeric_norm:
                k = (r + 1) / (r - 1)
            else:
                k = (r - 1) / (r + 1)
            """),),
    "k_from_report.missing_parentheses": (
        _k("""
            if block.analytic_norm >= block.numeric_norm:
                k = 1 + r / (1 - r)
            else:
                k = 1 - r / (1 + r)
            """),),
    "k_from_report.global_difference": (
        _k("""
            r = report.relative_difference
            if block.analytic_norm >= block.numeric_norm:
                k = (1 + r) / (1 - r)
            else:
                k = (1 - r) / (1 + r)
            """),),
    "k_from_report.ignored_name": (
        _k("""
            block = report.blocks[0]
            r = block.relative_difference
            if block.analytic_norm >= block.numeric_norm:
                k = (1 + r) / (1 - r)
            else:
                k = (1 - r) / (1 + r)
            """),),
}

_CORRECT_03K = {
    "k_from_report.correct_1": _k("k = block.analytic_norm / block.numeric_norm"),
    "k_from_report.correct_2": _k("""
        if block.analytic_norm > block.numeric_norm:
            k = (1 + r) / (1 - r)
        else:
            k = (1 - r) / (1 + r)
        """),
    "k_from_report.correct_3": _k("""
        k_big = (1 + r) / (1 - r)  # solves r = (k - 1) / (k + 1)
        k = k_big if block.analytic_norm >= block.numeric_norm else 1 / k_big
        """),
    "k_from_report.correct_4": _k("""
        sign = np.sign(block.analytic_norm - block.numeric_norm)
        k = ((1 + r) / (1 - r)) ** sign
        """),
}

#: The correct 3-layer backward pass, written as in notebook 3 (the bug catalogue's written-out code).
_FIXED = '''def backward_propagation_fixed(X, Y, cache):
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    m = X.shape[1]

    dZ3 = A3 - Y  # shape (1, m)
    dW3 = 1. / m * np.dot(dZ3, A2.T)
    db3 = 1. / m * np.sum(dZ3, axis=1, keepdims=True)

    dA2 = np.dot(W3.T, dZ3)  # shape (n_2, m)
    dZ2 = np.multiply(dA2, np.int64(Z2 > 0))
    dW2 = 1. / m * np.dot(dZ2, A1.T)
    db2 = 1. / m * np.sum(dZ2, axis=1, keepdims=True)

    dA1 = np.dot(W2.T, dZ2)  # shape (n_1, m)
    dZ1 = np.multiply(dA1, np.int64(Z1 > 0))
    dW1 = 1. / m * np.dot(dZ1, X.T)
    db1 = 1. / m * np.sum(dZ1, axis=1, keepdims=True)

    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dW3": dW3, "db3": db3}
'''


def _fixed(*edits):
    source = _FIXED
    for old, new in edits:
        if old not in source:
            raise ValueError(f"edit target {old!r} not in the cell")
        source = source.replace(old, new)
    return source


_WRONG_03F = {
    "backward_propagation_fixed.calls_library": (
        "def backward_propagation_fixed(X, Y, cache):\n    return correct(X, Y, cache)\n",
        "def backward_propagation_fixed(X, Y, cache):\n    gradients = backward_propagation_n(X, Y, cache)\n"
        "    return gradients\n",
        "def backward_propagation_fixed(X, Y, cache):\n    from course_utils.bugs import correct as fixed\n"
        "    return fixed(X, Y, cache)\n",
        "def backward_propagation_fixed(X, Y, cache):\n    no_bugs = inject([])\n    return no_bugs(X, Y, cache)\n"),
    "backward_propagation_fixed.relu_mask_from_activation": (
        _fixed(("np.int64(Z2 > 0)", "np.int64(A2 >= 0)"), ("np.int64(Z1 > 0)", "np.int64(A1 >= 0)")),
        _fixed(("np.int64(Z1 > 0)", "np.int64(A1 >= 0)"))),
    "backward_propagation_fixed.relu_mask_dropped": (
        _fixed(("np.multiply(dA2, np.int64(Z2 > 0))", "dA2"), ("np.multiply(dA1, np.int64(Z1 > 0))", "dA1")),),
    "backward_propagation_fixed.db_before_relu": (
        _fixed(("np.sum(dZ2, axis=1", "np.sum(dA2, axis=1"), ("np.sum(dZ1, axis=1", "np.sum(dA1, axis=1")),),
    "backward_propagation_fixed.weight_grad_transposed": (
        _fixed(("np.dot(dZ2, A1.T)", "np.dot(A1, dZ2.T).reshape(W2.shape)"),
               ("np.dot(dZ1, X.T)", "np.dot(X, dZ1.T).reshape(W1.shape)")),),
    "backward_propagation_fixed.relu_mask_off_by_one": (_fixed(("np.int64(Z2 > 0)", "np.int64(Z3 > 0)")),),
    "backward_propagation_fixed.db3_missing_1_over_m": (
        _fixed(("db3 = 1. / m * np.sum(dZ3", "db3 = np.sum(dZ3")),),
    "backward_propagation_fixed.missing_1_over_m": (_fixed(*[(f"d{p}{l} = 1. / m * ", f"d{p}{l} = ")
                                                              for p in "Wb" for l in (1, 2, 3)]),),
    "backward_propagation_fixed.bias_sum_all_axes": (
        _fixed(("np.sum(dZ2, axis=1, keepdims=True)", "np.sum(dZ2)"),
               ("np.sum(dZ1, axis=1, keepdims=True)", "np.sum(dZ1)")),),
    "backward_propagation_fixed.relu_instead_of_derivative": (
        _fixed(("np.int64(Z2 > 0)", "A2"), ("np.int64(Z1 > 0)", "A1")),),
    "backward_propagation_fixed.output_error_reversed": (_fixed(("dZ3 = A3 - Y", "dZ3 = Y - A3")),),
    "backward_propagation_fixed.sigmoid_derivative_twice": (
        _fixed(("dZ3 = A3 - Y", "dZ3 = (A3 - Y) * A3 * (1 - A3)")),),
    "backward_propagation_fixed.cache_unpacked_out_of_order": (
        _fixed(("(Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache",
                "(A1, Z1, W1, b1, A2, Z2, W2, b2, Z3, A3, W3, b3) = cache")),),
    "backward_propagation_fixed.classic_scale_bugs": (
        _fixed(("dW2 = 1. / m * np.dot(dZ2, A1.T)", "dW2 = 1. / m * np.dot(dZ2, A1.T) * 2"),
               ("db1 = 1. / m * np.sum", "db1 = 4. / m * np.sum")),),
}

_CORRECT_03F = {
    "backward_propagation_fixed.correct_1": _FIXED,
    "backward_propagation_fixed.correct_2": _fixed(("np.int64(Z2 > 0)", "(Z2 >= 0)"),
                                                   ("np.int64(Z1 > 0)", "(Z1 >= 0)")),
    "backward_propagation_fixed.correct_3": '''def backward_propagation_fixed(X, Y, cache):
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3 = cache
    dZ3 = A3 - Y
    dZ2 = (W3.T @ dZ3) * (A2 > 0)
    dZ1 = (W2.T @ dZ2) * (A1 > 0)
    grads = {}
    for l, (dZ, A_prev) in enumerate([(dZ1, X), (dZ2, A1), (dZ3, A2)], start=1):
        grads[f"dW{l}"] = dZ @ A_prev.T / X.shape[1]
        grads[f"db{l}"] = dZ.mean(axis=1, keepdims=True)
    return grads
''',
    "backward_propagation_fixed.correct_4": _fixed(
        ("return {", "gradients = {"),
        ('"db3": db3}',
         '"db3": db3}\n    return {key: np.asarray(value, dtype=float) for key, value in gradients.items()}'),
        ("np.multiply(dA2, np.int64(Z2 > 0))", "np.where(Z2 > 0, dA2, 0.0)")),
    "backward_propagation_fixed.correct_5": _fixed(("np.multiply(dA2, np.int64(Z2 > 0))", "dA2 * np.heaviside(Z2, 0.0)"),
                                                   ("np.multiply(dA1, np.int64(Z1 > 0))", "dA1 * np.heaviside(Z1, 0.0)")),
}

# ---------------------------------------------------------------------------------------------------
# Cells of notebook 04
# ---------------------------------------------------------------------------------------------------


def _eps(body):
    return ('def optimal_epsilon(dtype, method="centered", scale=1.0):\n'
            + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n    return float(eps)\n")


def _eps_master(u="float(np.finfo(dtype).eps)", power='1 / 3 if method == "centered" else 1 / 2',
                eps="u ** power * scale"):
    return _eps(f"u = {u}\npower = {power}\neps = {eps}")


_WRONG_04 = {
    "optimal_epsilon.max_one_scale": (_eps_master(eps="u ** power * max(1, scale)"),
                                      _eps_master(eps="u ** power * max(1.0, abs(scale))")),
    "optimal_epsilon.half_eps": (_eps_master(u="float(np.finfo(dtype).eps) / 2  # rounding error is at most u/2"),),
    "optimal_epsilon.constant_step": (_eps("eps = 1e-7"),),
    "optimal_epsilon.power_precedence": (
        _eps("""
            u = np.finfo(dtype).eps
            if method == "centered":
                eps = u ** 1/3 * scale
            else:
                eps = u ** 1/2 * scale
            """),),
    "optimal_epsilon.floor_division": (_eps_master(power='1 // 3 if method == "centered" else 1 // 2'),),
    "optimal_epsilon.roots_swapped": (_eps_master(power='1 / 2 if method == "centered" else 1 / 3'),),
    "optimal_epsilon.method_ignored": (_eps_master(power="1 / 3"),),
    "optimal_epsilon.centered_not_recognised": (_eps_master(power='1 / 3 if method == "central" else 1 / 2'),),
    "optimal_epsilon.float64_eps_always": (_eps_master(u="np.finfo(float).eps"),
                                           _eps_master(u="2.220446049250313e-16")),
    "optimal_epsilon.no_scale": (_eps_master(eps="u ** power"),),
    "optimal_epsilon.resolution": (_eps_master(u="float(np.finfo(dtype).resolution)"),),
    "optimal_epsilon.tiny": (_eps_master(u="float(np.finfo(dtype).tiny)"),),
    "optimal_epsilon.u_itself": (_eps_master(eps="u * scale"),),
    "optimal_epsilon.divided_by_scale": (_eps_master(eps="u ** power / scale"),),
    "optimal_epsilon.scale_inside_root": (_eps_master(eps="(u * scale) ** power"),),
}

_CORRECT_04 = {
    "optimal_epsilon.correct_1": _eps("""
        u = np.finfo(dtype).eps
        eps = (np.cbrt(u) if method == "centered" else np.sqrt(u)) * scale
        """),
    "optimal_epsilon.correct_2": _eps("""
        powers = {"centered": 1 / 3, "forward": 1 / 2}
        eps = np.power(np.finfo(np.dtype(dtype)).eps, powers[method]) * scale
        """),
    "optimal_epsilon.correct_3": _eps("""
        u = 2.0 ** -np.finfo(dtype).nmant  # the spacing of floats just above 1
        if method == "forward":
            eps = scale * u ** 0.5
        else:
            eps = scale * u ** (1 / 3)
        """),
    "optimal_epsilon.correct_4": ('def optimal_epsilon(dtype, method="centered", scale=1.0):\n'
                                  '    u = np.finfo(dtype).eps\n'
                                  '    return np.float64(u) ** (1 / 3 if method != "forward" else 0.5) * scale\n'),
    "optimal_epsilon.correct_5": _eps("""
        root = {"centered": np.cbrt, "forward": np.sqrt}[method]
        eps = root(np.finfo(dtype).eps) * scale
        """),
}

#: mistake id -> tuple of cell sources that make that mistake.
WRONG = {**_WRONG_01, **_WRONG_02, **_WRONG_03K, **_WRONG_03F, **_WRONG_04}

#: "<exercise>.correct_<n>" -> a cell source that is right but differs from the master.
CORRECT = {**_CORRECT_01, **_CORRECT_02, **_CORRECT_03K, **_CORRECT_03F, **_CORRECT_04}


def exercise_of(key):
    """The exercise a mistake id or correct-variant key belongs to (its part before the dot).

    Parameters
    ----------
    key : str, a mistake id ("gradient_check.sign_error") or a correct-variant key ("gradient_check.correct_1")

    Returns
    -------
    str, the exercise's function name

    Raises
    ------
    AttributeError if ``key`` is not a string.
    """
    return key.split(".", 1)[0]


def implementations():
    """Every (key, index, source): the wrong ones (key a mistake id), then the correct variants (index 0).

    Returns
    -------
    list of (str, int, str)

    Raises
    ------
    Nothing: the sources are constants.
    """
    rows = [(key, i, source) for key, sources in WRONG.items() for i, source in enumerate(sources)]
    return rows + [(key, 0, source) for key, source in CORRECT.items()]
