"""The catalogue of student mistakes in the course's seven exercises: stable ids, symptoms and hints.

Each ``Mistake`` is one wrong-but-plausible thing a student writes in an exercise cell, as data: its
``id`` (``"<exercise>.<what>"``, snake_case, never renamed: class reports count mistakes by id), what a
judge *sees* when a submission makes it (``symptom``, for instructors), and the ``hint`` the student
reads (one or two sentences: what was seen, what to change).

The seven exercises and their signatures:

* notebook 01: ``forward_propagation(x, theta)`` (J(theta) = theta * x), ``backward_propagation(x, theta)``
  (dJ/dtheta = x), ``gradient_check(x, theta, epsilon=1e-7, print_msg=False)``;
* notebook 02: ``gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False)``;
* notebook 03: ``k_from_report(report, name)``, ``backward_propagation_fixed(X, Y, cache)``;
* notebook 04: ``optimal_epsilon(dtype, method="centered", scale=1.0)``.

Some mistakes give the same observable behaviour as others (``tests/mistake_probes.py`` lists the
groups): a hint shown for one of them must not claim the student wrote that one rather than the other.
"""

from dataclasses import dataclass

__all__ = ["EXERCISES", "MISTAKES", "Mistake", "MistakeError", "mistake", "mistakes_for"]

#: The graded exercises, in course order (notebooks 01, 01, 01, 02, 03, 03, 04).
EXERCISES = ("forward_propagation", "backward_propagation", "gradient_check", "gradient_check_n",
             "k_from_report", "backward_propagation_fixed", "optimal_epsilon")


class MistakeError(KeyError):
    """An unknown mistake id or exercise name."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Mistake:
    """One catalogued student mistake.

    Attributes
    ----------
    id : str, ``"<exercise>.<what>"``, snake_case, stable across releases
    exercise : str, one of ``EXERCISES``
    title : str, the mistake in a few words (for instructors and class reports)
    symptom : str, what a judge observes when a submission makes it
    hint : str, what the student reads: what was seen and what to change (one or two sentences)
    """

    id: str
    exercise: str
    title: str
    symptom: str
    hint: str


def _m(exercise, what, title, symptom, hint):
    """A Mistake whose id is "<exercise>.<what>"."""
    return Mistake(id=f"{exercise}.{what}", exercise=exercise, title=title, symptom=symptom, hint=hint)


_FP, _BP, _GC = "forward_propagation", "backward_propagation", "gradient_check"
_GCN, _K, _FIX, _EPS = "gradient_check_n", "k_from_report", "backward_propagation_fixed", "optimal_epsilon"

_FORWARD = (
    _m(_FP, "added", "theta + x instead of theta * x",
       "returns theta + x: 6.0 for x = 2, theta = 4",
       "Your cost adds x and theta; the model multiplies them: J(theta) = theta * x."),
    _m(_FP, "returned_x", "returns the input x",
       "returns x whatever theta is",
       "Your cost does not change with theta: it returns x. Return the product theta * x."),
    _m(_FP, "returned_theta", "returns the parameter theta",
       "returns theta whatever x is",
       "Your cost does not change with x: it returns theta. Return the product theta * x."),
    _m(_FP, "squared_input", "theta * x * x",
       "returns theta * x**2: 16.0 for x = 2, theta = 4 (expected 8.0)",
       "Your cost multiplies by x twice (theta * x * x); the model is J(theta) = theta * x, with x once."),
    _m(_FP, "squared_cost", "a squared-error cost (theta * x)**2 / 2",
       "returns (theta * x)**2 / 2, a habit from regression",
       "Your cost squares theta * x; this model has no square: J(theta) = theta * x."),
    _m(_FP, "no_return", "J computed but never returned",
       "returns None and prints nothing",
       "Your function returns None: it computes J but has no `return J` at the end."),
    _m(_FP, "printed_not_returned", "prints J instead of returning it",
       "returns None and prints the right value",
       "Your function prints J but returns None: replace the print with `return J`."),
    _m(_FP, "returned_tuple", "returns (J, cache) like forward_propagation_n",
       "returns a tuple whose first item is the right cost",
       "Your function returns a tuple; this 1-D forward pass returns the cost alone, J(theta) = theta * x "
       "(only notebook 2's forward_propagation_n also returns a cache)."),
)

_BACKWARD = (
    _m(_BP, "returned_theta", "returns theta",
       "returns theta whatever x is",
       "You returned theta; the derivative of theta * x with respect to theta is x."),
    _m(_BP, "returned_cost", "returns the cost theta * x",
       "returns theta * x, the forward pass's value",
       "You returned the cost J(theta) = theta * x itself; backward propagation returns its derivative, dJ/dtheta = x."),
    _m(_BP, "returned_zero", "returns 0",
       "returns 0 for every input",
       "You returned 0 for every input; J(theta) = theta * x changes with theta at the rate x, so return x."),
    _m(_BP, "returned_one", "returns 1 (the derivative of theta)",
       "returns 1 for every input",
       "You returned 1, the derivative of theta alone; the derivative of theta * x is x."),
    _m(_BP, "negated", "returns -x",
       "returns the exact negative of the derivative",
       "Your derivative has the wrong sign: it returns -x, while J(theta) = theta * x grows with theta at the rate +x."),
    _m(_BP, "divided_by_theta", "J / theta instead of x",
       "right for theta != 0, but crashes (ZeroDivisionError) or returns nan/inf at theta = 0",
       "You computed the derivative as J / theta, which breaks at theta = 0; the derivative of "
       "theta * x is simply x."),
    _m(_BP, "no_return", "dtheta computed but never returned",
       "returns None",
       "Your function returns None: it computes dtheta but has no `return dtheta` at the end."),
)

_GRADIENT_CHECK = (
    _m(_GC, "forward_difference", "one-sided difference (J(theta + eps) - J(theta)) / eps",
       "forward_propagation is evaluated at theta and theta + epsilon, never at theta - epsilon; exact on "
       "the linear model, off by about epsilon on a curved cost",
       "Your check evaluated the cost at theta and theta + epsilon: a one-sided difference. Use the "
       "centered difference (J(theta + epsilon) - J(theta - epsilon)) / (2 * epsilon)."),
    _m(_GC, "backward_difference", "one-sided difference (J(theta) - J(theta - eps)) / eps",
       "forward_propagation is evaluated at theta - epsilon and theta, never at theta + epsilon",
       "Your check evaluated the cost at theta - epsilon and theta: a one-sided difference. Use the "
       "centered difference (J(theta + epsilon) - J(theta - epsilon)) / (2 * epsilon)."),
    _m(_GC, "one_sided_half", "J_minus taken at theta, divided by 2 * epsilon",
       "evaluated at theta + epsilon and theta, gradapprox half the slope: 1/3 for a right derivative",
       "Your J_minus was computed at theta itself, so gradapprox is half the slope; compute it at "
       "theta_minus = theta - epsilon."),
    _m(_GC, "divided_by_epsilon", "divided by epsilon instead of 2 * epsilon",
       "gradapprox twice the slope: 1/3 for a right derivative",
       "Your gradapprox is twice the slope: divide J_plus - J_minus by 2 * epsilon, the full width from "
       "theta - epsilon to theta + epsilon."),
    _m(_GC, "missing_parentheses", "J_plus - J_minus / (2 * epsilon)",
       "gradapprox = J_plus - J_minus / (2 eps): huge, the difference is near 1 for any derivative",
       "Only J_minus was divided by 2 * epsilon: put parentheses around the difference, "
       "(J_plus - J_minus) / (2 * epsilon)."),
    _m(_GC, "divided_then_multiplied", "(J_plus - J_minus) / 2 * epsilon",
       "gradapprox about epsilon**2 times the slope: the difference is near 1 for any derivative",
       "`/ 2 * epsilon` divides by 2 and then multiplies by epsilon; write / (2 * epsilon) with parentheses."),
    _m(_GC, "plus_twice", "theta + epsilon used for both costs",
       "forward_propagation is evaluated twice at theta + epsilon; gradapprox is 0, the difference 1 "
       "for every derivative",
       "Your check evaluated the cost at theta + epsilon twice, so gradapprox is 0; J_minus must use "
       "theta - epsilon."),
    _m(_GC, "minus_twice", "theta - epsilon used for both costs",
       "forward_propagation is evaluated twice at theta - epsilon; gradapprox is 0",
       "Your check evaluated the cost at theta - epsilon twice, so gradapprox is 0; J_plus must use "
       "theta + epsilon."),
    _m(_GC, "sign_error", "(J_minus - J_plus) / (2 * epsilon)",
       "the right points are evaluated but gradapprox is the negative slope: 1 for a right derivative, "
       "0 for a derivative of the wrong sign",
       "Your gradapprox has the wrong sign: with a derivative of -x your check says they agree. "
       "Subtract in the order J_plus - J_minus."),
    _m(_GC, "perturbed_x", "x nudged instead of theta",
       "forward_propagation is evaluated at x +/- epsilon with theta unchanged; gradapprox is theta",
       "Your check nudged x instead of theta; keep x fixed and evaluate the cost at theta + epsilon "
       "and theta - epsilon."),
    _m(_GC, "returned_gradapprox", "returns gradapprox instead of the difference",
       "returns the slope (about x), not a fraction between 0 and 1",
       "Your function returned gradapprox (the slope); return the relative difference "
       "||grad - gradapprox|| / (||grad|| + ||gradapprox||)."),
    _m(_GC, "no_denominator", "numerator only, ||grad - gradapprox||",
       "returns |k - 1| * |x| for a derivative k * x: not relative, can exceed 1",
       "You returned the norm of the difference; divide it by ||grad|| + ||gradapprox|| to make it relative."),
    _m(_GC, "grad_only_denominator", "denominator ||grad|| alone",
       "returns |k - 1| / |k| for a derivative k * x; infinite for a zero derivative",
       "The denominator must be ||grad|| + ||gradapprox|| (both norms), not ||grad|| alone."),
    _m(_GC, "norm_of_sum", "denominator ||grad + gradapprox||",
       "right for derivatives of the right sign; for a derivative -x it divides by 0 (inf or nan)",
       "Your denominator is the norm of the sum, which is 0 when the gradients are opposite; use the sum "
       "of the norms, ||grad|| + ||gradapprox||."),
    _m(_GC, "difference_of_norms", "numerator ||grad|| - ||gradapprox||",
       "right for positive multiples; for a derivative -x it returns 0 instead of 1",
       "Your numerator compares the sizes of the gradients, so a derivative of the wrong sign looks right; "
       "use the norm of the difference, ||grad - gradapprox||."),
    _m(_GC, "ignored_epsilon", "a hard-coded step 1e-7",
       "forward_propagation is evaluated at theta +/- 1e-7 whatever epsilon is passed",
       "Your check uses its own step instead of the `epsilon` argument; write theta + epsilon and "
       "theta - epsilon with the argument."),
    _m(_GC, "prints_when_quiet", "prints the verdict when print_msg is False",
       "stdout is not empty after a call with print_msg=False",
       "Your check printed something although print_msg=False; print only inside `if print_msg:`."),
    _m(_GC, "returns_verdict", "returns difference < 1e-7, a boolean",
       "returns True/False instead of a number",
       "Your function returned a boolean verdict; return the difference itself (a float), the caller "
       "decides with the threshold."),
    _m(_GC, "self_comparison", "gradapprox compared with itself",
       "backward_propagation is never called; the difference is 0 even for a wrong derivative",
       "Your check never called backward_propagation, so it compares gradapprox with itself; take grad "
       "from backward_propagation(x, theta)."),
    _m(_GC, "grad_at_perturbed_theta", "grad computed after theta was changed in place",
       "backward_propagation is called at theta - epsilon (theta was reassigned before the call)",
       "backward_propagation was called at a nudged theta; keep theta unchanged (use theta_plus and "
       "theta_minus) and call it at theta itself."),
    _m(_GC, "theta_passed_unperturbed", "theta_plus computed but theta passed to forward_propagation",
       "forward_propagation is evaluated at theta and theta - epsilon; gradapprox is half the slope",
       "Your J_plus was computed at theta itself (theta_plus was never used), so gradapprox is half the "
       "slope; pass theta_plus to forward_propagation."),
    _m(_GC, "old_signature", "the original assignment's signature, without print_msg, printing always",
       "a call with print_msg raises TypeError; a call without it prints a verdict",
       "Your function has no print_msg parameter (the original assignment's version); keep the signature "
       "gradient_check(x, theta, epsilon=1e-7, print_msg=False) and print only when print_msg is True."),
    _m(_GC, "returned_array", "returns a numpy array of shape (1,)",
       "returns array([d]) instead of a float",
       "Your function returned a numpy array; return a number, e.g. float(difference) with "
       "np.linalg.norm for the norms."),
)

_GRADIENT_CHECK_N = (
    _m(_GCN, "forgot_copy", "theta_plus = parameters_values (no copy)",
       "each entry is evaluated at +epsilon and at 0 instead of -epsilon; gradapprox is about half the slope",
       "Your J_minus[i] was taken at theta itself, never at theta - epsilon: without a copy, theta_minus "
       "starts from the vector already nudged by +epsilon. Start each side from np.copy(parameters_values)."),
    _m(_GCN, "copied_once", "copies made once, before the loop",
       "entry i is evaluated with every earlier entry still nudged (+epsilon on one side, -epsilon on "
       "the other); invisible at 1e-7, large at 1e-4",
       "Your copies were made once before the loop, so earlier entries stay nudged while you check "
       "entry i; make theta_plus and theta_minus fresh copies inside the loop."),
    _m(_GCN, "unrestored_perturbation", "one working copy nudged in place and not restored",
       "entry i is evaluated with every earlier entry left at -epsilon; about 3e-5 at epsilon = 1e-4 "
       "instead of about 2e-10",
       "Your loop nudges entry i of one working vector and never puts it back, so later entries are "
       "checked at a moved point; use fresh copies, or restore theta[i] after both costs."),
    _m(_GCN, "all_entries_perturbed", "every entry nudged at once",
       "every evaluation moves all entries by epsilon; gradapprox holds one directional derivative",
       "Your loop moved every entry at once (theta + epsilon); nudge only entry i, with theta_plus[i] += epsilon."),
    _m(_GCN, "last_entry_skipped", "loop over range(n - 1)",
       "the last entry is never nudged and its gradapprox stays 0",
       "The last parameter was never nudged: loop over range(num_parameters), not range(num_parameters - 1)."),
    _m(_GCN, "other_key_order", "gradients flattened in another key order",
       "right gradients give a large difference: grad's entries are in sorted-key order, not the parameters'",
       "Your grad vector lists the gradients in another order than theta; flatten them with "
       "gradients_to_vector(gradients, parameters), which follows the parameters' order."),
    _m(_GCN, "gradients_in_dict_order", "gradients flattened in the gradients dict's own order",
       "right when the gradients dict happens to be ordered like parameters, wrong otherwise",
       "Your grad vector follows the order of the gradients dictionary, which need not be the parameters' "
       "order; use gradients_to_vector(gradients, parameters)."),
    _m(_GCN, "cost_cache_not_unpacked", "J_plus[i] = forward_propagation_n(...) without unpacking",
       "the call raises (a tuple (cost, cache) cannot be stored in J_plus[i])",
       "forward_propagation_n returns two values, (cost, cache); keep the first: "
       "J_plus[i], _ = forward_propagation_n(...)."),
    _m(_GCN, "divided_by_epsilon", "divided by epsilon instead of 2 * epsilon",
       "gradapprox twice the slope: 1/3 for right gradients",
       "Your gradapprox is twice the slope: divide J_plus[i] - J_minus[i] by 2 * epsilon."),
    _m(_GCN, "plus_twice", "theta_minus nudged by +epsilon",
       "every entry is evaluated twice at +epsilon; gradapprox is 0, the difference 1",
       "Both costs were taken at +epsilon, so gradapprox is 0; theta_minus[i] needs - epsilon."),
    _m(_GCN, "sign_error", "(J_minus - J_plus) / (2 * epsilon)",
       "the right points are evaluated but gradapprox is the negative gradient: difference 1",
       "Your gradapprox has the wrong sign; subtract J_plus[i] - J_minus[i]."),
    _m(_GCN, "forward_difference", "one-sided difference with J at theta",
       "each entry is evaluated at +epsilon and at theta; off by about epsilon (1e-3 at epsilon = 1e-3)",
       "Your loop takes a one-sided difference (J at theta + epsilon and at theta); use the centered "
       "difference (J_plus[i] - J_minus[i]) / (2 * epsilon)."),
    _m(_GCN, "no_denominator", "numerator only, ||grad - gradapprox||",
       "returns an absolute distance, not a fraction",
       "You returned the norm of the difference; divide it by ||grad|| + ||gradapprox|| to make it relative."),
    _m(_GCN, "grad_only_denominator", "denominator ||grad|| alone",
       "returns ||grad - gradapprox|| / ||grad||: about twice the right value, more for large errors",
       "The denominator must be ||grad|| + ||gradapprox|| (both norms), not ||grad|| alone."),
    _m(_GCN, "norm_of_sum", "denominator ||grad + gradapprox||",
       "right for small errors, wrong when gradients point apart (a sign flip)",
       "Your denominator is the norm of the sum; use the sum of the norms, ||grad|| + ||gradapprox||."),
    _m(_GCN, "difference_of_norms", "numerator ||grad|| - ||gradapprox||",
       "misses errors that keep the norm (a sign flip, a permutation)",
       "Your numerator compares the sizes of the two vectors, which misses errors that keep the size; "
       "use the norm of the difference, ||grad - gradapprox||."),
    _m(_GCN, "ignored_epsilon", "a hard-coded step 1e-7",
       "entries are nudged by 1e-7 whatever epsilon is passed: the same value at every epsilon, where a "
       "right gradient gives about 2e-10 at epsilon = 1e-4",
       "Your loop uses its own step instead of the `epsilon` argument; nudge by epsilon and divide by 2 * epsilon."),
    _m(_GCN, "prints_when_quiet", "prints when print_msg is False",
       "stdout is not empty after a call with print_msg=False",
       "Your check printed something although print_msg=False; print only inside `if print_msg:`."),
    _m(_GCN, "self_comparison", "gradapprox compared with itself",
       "the gradients argument is never read; the difference is 0 for wrong gradients",
       "Your check never compares with the `gradients` argument; set "
       "grad = gradients_to_vector(gradients, parameters)."),
    _m(_GCN, "parameters_left_changed", "the caller's parameters changed",
       "after the call the caller's parameters dictionary holds different numbers",
       "Your check changed the caller's parameters; nudge copies of theta (np.copy) and never write "
       "into the parameters dictionary."),
    _m(_GCN, "old_signature", "the original assignment's signature, without print_msg, printing always",
       "a call with print_msg raises TypeError; a call without it prints a verdict",
       "Your function has no print_msg parameter (the original assignment's version); keep the signature "
       "gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False)."),
    _m(_GCN, "old_helper_calls", "vector_to_dictionary(theta) with one argument, as in the original assignment",
       "the call raises TypeError: vector_to_dictionary is missing its second argument",
       "The course's vector_to_dictionary needs the parameters too, to know the shapes: "
       "vector_to_dictionary(theta_plus, parameters)."),
    _m(_GCN, "shape_broadcast", "gradapprox of shape (n,) compared with grad of shape (n, 1)",
       "grad - gradapprox broadcasts to an (n, n) matrix: a right gradient gives a difference near 1",
       "Your gradapprox has shape (n,) while grad has shape (n, 1), so grad - gradapprox became an n x n "
       "matrix; give both the same shape, e.g. gradapprox.reshape(-1, 1)."),
    _m(_GCN, "returned_gradapprox", "returns the gradapprox vector",
       "returns an array of shape (n, 1) instead of a float",
       "Your function returned the gradapprox vector; return the relative difference as a float."),
    _m(_GCN, "gradapprox_overwritten", "gradapprox = ... without [i]",
       "gradapprox ends up as the last entry's slope alone",
       "Each pass of the loop replaced the whole gradapprox; store the slope in its entry, gradapprox[i] = ..."),
)

_K_FROM_REPORT = (
    _m(_K, "cases_swapped", "the two formulas (or the comparison) swapped",
       "returns 1/k for every k (exactly like norm_ratio_inverted)",
       "You returned 1/k for every k: k > 1 exactly when the analytic norm is the larger one, and "
       "k = analytic_norm / numeric_norm, which is (1 + r) / (1 - r) then and (1 - r) / (1 + r) otherwise."),
    _m(_K, "norm_ratio_inverted", "k = numeric_norm / analytic_norm",
       "returns 1/k for every k (exactly like cases_swapped)",
       "You returned 1/k for every k: k > 1 exactly when the analytic norm is the larger one, and "
       "k = analytic_norm / numeric_norm, which is (1 + r) / (1 - r) then and (1 - r) / (1 + r) otherwise."),
    _m(_K, "always_larger_case", "always (1 + r) / (1 - r)",
       "right for k > 1, returns 1/k for k < 1",
       "For k < 1 you returned 1/k: when the analytic norm is the smaller one, k is (1 - r) / (1 + r)."),
    _m(_K, "always_smaller_case", "always (1 - r) / (1 + r)",
       "right for k < 1, returns 1/k for k > 1",
       "For k > 1 you returned 1/k: when the analytic norm is the larger one, k is (1 + r) / (1 - r)."),
    _m(_K, "returned_r", "returns r itself",
       "returns the block's relative difference |k - 1| / (k + 1)",
       "You returned the relative difference r; solve r = |k - 1| / (k + 1) for k."),
    _m(_K, "negated", "(r + 1) / (r - 1): k with the wrong sign",
       "returns -k",
       "Your k is negative: solving r = (k - 1) / (k + 1) gives (1 + r) / (1 - r), not (r + 1) / (r - 1)."),
    _m(_K, "missing_parentheses", "1 + r / (1 - r)",
       "returns 1 + r / (1 - r) (or 1 - r / (1 + r))",
       "Only r was divided: put parentheses around the numerator, (1 + r) / (1 - r)."),
    _m(_K, "global_difference", "the report's global relative difference instead of the block's",
       "wrong k; the value follows report.relative_difference, not the block's",
       "You used the report's global relative difference; k comes from the block's, "
       "report.block(name).relative_difference."),
    _m(_K, "ignored_name", "the worst block instead of the named one",
       "right when the named block is the worst, wrong on a report with two scaled blocks",
       "You read the worst block (report.blocks[0]) instead of the one asked for; use report.block(name)."),
)

_FIXED = (
    _m(_FIX, "calls_library", "returns the library's correct gradients",
       "calls course_utils' correct / backward_propagation_n instead of computing the gradients",
       "Your function calls the library's backward pass instead of fixing the one in the notebook; "
       "write the lines out, as in backward_propagation_buggy, with the bugs fixed."),
    _m(_FIX, "relu_mask_from_activation", "mask (A >= 0) left in",
       "dW1, db1, dW2, db2 wrong; dW3, db3 right; every unit lets the gradient through (exactly like "
       "relu_mask_dropped)",
       "Your hidden gradients pass through every unit, as if there were no ReLU: a mask built as (A >= 0) "
       "or no mask at all does that. Use dZ = dA * (Z > 0)."),
    _m(_FIX, "relu_mask_dropped", "dZ = dA: the ReLU's derivative left out",
       "the same numbers as relu_mask_from_activation: every unit lets the gradient through",
       "Your hidden gradients pass through every unit, as if there were no ReLU: a mask built as (A >= 0) "
       "or no mask at all does that. Use dZ = dA * (Z > 0)."),
    _m(_FIX, "db_before_relu", "db summed from dA, before the mask, left in",
       "db1 and db2 wrong, every weight right",
       "Your hidden db is summed from dA, before the ReLU mask; sum dZ instead: db = np.sum(dZ, axis=1, "
       "keepdims=True) / m."),
    _m(_FIX, "weight_grad_transposed", "dW = (A_prev @ dZ.T).reshape(W.shape)",
       "dW1 and dW2 wrong with the right norms, everything else right",
       "Your dW has the right numbers in the wrong places (a transposed product reshaped); "
       "compute dW = dZ @ A_prev.T / m."),
    _m(_FIX, "relu_mask_off_by_one", "mask of layer 2 taken from Z3",
       "dW2, db2 and everything below wrong; a (1, m) mask broadcast over (n_2, m)",
       "Your layer-2 mask is built from the next layer's Z3; dZ2 = dA2 * (Z2 > 0)."),
    _m(_FIX, "db3_missing_1_over_m", "db3 without 1/m",
       "only db3 wrong, exactly m times too large (3 on the course's test case)",
       "Your db3 is exactly m times too large: divide the sum by m, db3 = np.sum(dZ3, axis=1, keepdims=True) / m."),
    _m(_FIX, "missing_1_over_m", "no 1/m anywhere",
       "every block exactly m times too large",
       "Every gradient is exactly m times too large: the cost is a mean, so divide every dW and db by m."),
    _m(_FIX, "bias_sum_all_axes", "db = np.sum(dZ) / m without axis",
       "hidden db blocks hold one number repeated",
       "Your hidden db adds up all units too; sum over the examples only: np.sum(dZ, axis=1, keepdims=True)."),
    _m(_FIX, "relu_instead_of_derivative", "dZ = dA * A",
       "hidden layers wrong with an entry-dependent ratio; layer 3 right",
       "You multiplied by the activation A instead of the ReLU's derivative; dZ = dA * (Z > 0)."),
    _m(_FIX, "output_error_reversed", "dZ3 = Y - A3",
       "every block is the exact negative of the right gradient",
       "Every gradient has the wrong sign: the output error is dZ3 = A3 - Y."),
    _m(_FIX, "sigmoid_derivative_twice", "dZ3 = (A3 - Y) * A3 * (1 - A3)",
       "every block too small, by a factor that varies per example",
       "A3 - Y is already the derivative with respect to Z3; do not multiply by A3 * (1 - A3) again."),
    _m(_FIX, "cache_unpacked_out_of_order", "Z and A swapped when unpacking the cache",
       "dW2 and dW3 wrong (they use Z instead of A), the masks still right",
       "Your cache is unpacked in the wrong order (Z and A swapped); it is "
       "(Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)."),
    _m(_FIX, "classic_scale_bugs", "dW2 * 2 and db1 with 4 / m (the original assignment's bugs)",
       "only dW2 (exactly 2x) and db1 (exactly 4x) wrong",
       "Your dW2 is exactly 2 times and your db1 exactly 4 times too large; remove the stray factors "
       "(1 / m, not 4 / m)."),
)

_EPSILON = (
    _m(_EPS, "max_one_scale", "max(1, scale) inside",
       "right for scale >= 1, too large for scale < 1",
       "Your step ignores a scale below 1 (max(1, scale) inside); multiply by scale as given, the caller "
       "chooses it."),
    _m(_EPS, "half_eps", "u = np.finfo(dtype).eps / 2",
       "every step 2**(-1/3) (centered) or 2**(-1/2) (forward) times too small: 4.8e-06 for float64",
       "You halved np.finfo(dtype).eps; in this exercise u means np.finfo(dtype).eps itself."),
    _m(_EPS, "constant_step", "always 1e-7",
       "returns the same number for every dtype, method and scale",
       "Your step is the same for every precision and method; compute it from u = np.finfo(dtype).eps."),
    _m(_EPS, "power_precedence", "u ** 1/3, which is (u ** 1) / 3",
       "returns u / 3 (or u / 2) times scale: far too small",
       "`u ** 1/3` is (u ** 1) / 3 because ** binds before /; write u ** (1 / 3)."),
    _m(_EPS, "floor_division", "u ** (1 // 3), which is u ** 0",
       "returns scale itself (1.0 for scale 1)",
       "`1 // 3` is integer division and gives 0, so u ** (1 // 3) is 1; write u ** (1 / 3)."),
    _m(_EPS, "roots_swapped", "square root for centered, cube root for forward",
       "centered gets u**(1/2), forward gets u**(1/3)",
       "The powers are swapped: centered differences need u ** (1 / 3), forward differences u ** (1 / 2)."),
    _m(_EPS, "method_ignored", "cube root for both methods",
       "right for centered, wrong for forward",
       "Your step ignores `method`: forward differences need u ** (1 / 2)."),
    _m(_EPS, "centered_not_recognised", "method compared with another word (e.g. 'central')",
       "square root for both methods: right for forward, wrong for centered",
       "Your code never takes the centered branch: `method` is spelled \"centered\"."),
    _m(_EPS, "float64_eps_always", "float64's eps for every dtype",
       "right for float64, far too small for float32",
       "You used float64's machine epsilon for every dtype; take u from the dtype you are given, "
       "np.finfo(dtype).eps."),
    _m(_EPS, "no_scale", "scale forgotten",
       "right for scale = 1, wrong otherwise",
       "Your step does not change with scale; multiply the root of u by scale."),
    _m(_EPS, "resolution", "np.finfo(dtype).resolution instead of eps",
       "steps computed from 1e-15 (float64) or 1e-6 (float32)",
       "np.finfo(dtype).resolution is a rounded power of ten; use np.finfo(dtype).eps."),
    _m(_EPS, "tiny", "np.finfo(dtype).tiny instead of eps",
       "steps computed from the smallest normal number: absurdly small",
       "np.finfo(dtype).tiny is the smallest positive number, not the unit round-off; use np.finfo(dtype).eps."),
    _m(_EPS, "u_itself", "u * scale, no root",
       "returns eps times scale",
       "Your step is u itself; the step that balances the two errors is a root of u, u ** (1 / 3) for centered."),
    _m(_EPS, "divided_by_scale", "divided by scale",
       "right for scale = 1, smaller when scale grows",
       "You divided by scale; multiply instead: a larger theta needs a larger step."),
    _m(_EPS, "scale_inside_root", "(u * scale) ** (1 / 3)",
       "right for scale = 1, scale**(1/3) times too small or large otherwise",
       "You took the root of u * scale; the root applies to u alone: u ** (1 / 3) * scale."),
)

#: Every catalogued mistake, grouped by exercise in course order (an immutable tuple of Mistake).
MISTAKES = _FORWARD + _BACKWARD + _GRADIENT_CHECK + _GRADIENT_CHECK_N + _K_FROM_REPORT + _FIXED + _EPSILON


def mistake(id):
    """The catalogued mistake with this id.

    Parameters
    ----------
    id : str, e.g. ``"gradient_check.forward_difference"``

    Returns
    -------
    Mistake

    Raises
    ------
    MistakeError
        if no mistake has this id (the message lists the exercise's ids when the prefix is known).
    """
    for m in MISTAKES:
        if m.id == id:
            return m
    exercise = str(id).split(".", 1)[0]
    known = [m.id for m in MISTAKES if m.exercise == exercise]
    detail = f"; {exercise} has {', '.join(known)}" if known else f"; exercises are {', '.join(EXERCISES)}"
    raise MistakeError(f"no catalogued mistake {id!r}{detail}")


def mistakes_for(exercise):
    """The catalogued mistakes of one exercise, in catalogue order.

    Parameters
    ----------
    exercise : str, one of ``EXERCISES``

    Returns
    -------
    tuple of Mistake

    Raises
    ------
    MistakeError
        if ``exercise`` is not one of ``EXERCISES``.
    """
    if exercise not in EXERCISES:
        raise MistakeError(f"unknown exercise {exercise!r}; exercises are {', '.join(EXERCISES)}")
    return tuple(m for m in MISTAKES if m.exercise == exercise)
