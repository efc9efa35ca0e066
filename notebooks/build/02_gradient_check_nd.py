"""Build script of notebook 02: gradient checking on the 3-layer fraud-detection network.

``build()`` returns the master (solutions included, no outputs); ``python -m tools.notebooks 02``
writes it to notebooks/source/, executes it and releases the student version.
"""

from tools.nbbuild import code, exercise, md, notebook, setup, tests

NOTEBOOK_ID = "02_gradient_check_nd"


def build():
    """The master notebook 02_gradient_check_nd (nbformat NotebookNode, without outputs)."""
    return notebook(NOTEBOOK_ID, [
        md(r"""
        # Gradient checking, part 2: a whole network

        In notebook 1 you checked the derivative of a model with a single parameter. The fraud-detection
        model your team wants to ship is a neural network with three layers and 47 parameters, and its
        backpropagation code is much longer, so there is much more room for a slip. In this notebook you
        check *all* of its gradients with the same idea: nudge one parameter, watch the cost, compare.

        **Learning goals.** After this notebook you can

        1. describe the network's forward and backward passes and the shape of every array they use;
        2. turn a dictionary of parameters into one long vector and back;
        3. write `gradient_check_n`, which checks every parameter of a network one at a time;
        4. use a per-parameter report to find *which* gradient is wrong;
        5. say when to run a gradient check, and when not to.

        As before: run the cells in order, fill in the cell marked `# YOUR CODE HERE`, then run the test
        cell below it.
        """),
        md("""
        ## 0. Setup

        The network, its test case and the helpers you need all come from the course's small library,
        `course_utils`. Run this cell first.
        """),
        setup("""
        import numpy as np

        from course_utils.checks import gradient_check_n_test, needs_exercise
        from course_utils.gradcheck import check_gradients
        from course_utils.models import backward_propagation_n, forward_propagation_n
        from course_utils.parameters import dictionary_to_vector, gradients_to_vector, vector_to_dictionary
        from course_utils.testcases import gradient_check_n_test_case
        """, grade_id="setup"),
        md(r"""
        ## 1. The fraud-detection network

        Each payment is described by 4 numbers (its features). The network reads them and outputs the
        probability that the payment is fraudulent. It has three layers:

        ![The 3-layer network: 4 inputs, a LINEAR->RELU layer of 5 units, a LINEAR->RELU layer of 3 units, and a LINEAR->SIGMOID output](images/network_3layer.png)

        The network processes $m$ payments at once, one per column of $X$. With $\mathrm{relu}(z) =
        \max(0, z)$ and $\sigma(z) = 1 / (1 + e^{-z})$, the **forward pass** is

        | step | formula | shape |
        |---|---|---|
        | input | $X$ | $(4, m)$ |
        | layer 1 | $Z^{[1]} = W^{[1]} X + b^{[1]}$, $\;A^{[1]} = \mathrm{relu}(Z^{[1]})$ | $(5, m)$ |
        | layer 2 | $Z^{[2]} = W^{[2]} A^{[1]} + b^{[2]}$, $\;A^{[2]} = \mathrm{relu}(Z^{[2]})$ | $(3, m)$ |
        | layer 3 | $Z^{[3]} = W^{[3]} A^{[2]} + b^{[3]}$, $\;A^{[3]} = \sigma(Z^{[3]})$ | $(1, m)$ |
        | cost | $J = -\frac{1}{m} \sum_{j=1}^{m} \big( y_j \log a_j + (1 - y_j) \log(1 - a_j) \big)$ | scalar |

        where $a_j$ is column $j$ of $A^{[3]}$ and $y_j \in \{0, 1\}$ says whether payment $j$ was
        fraud. The parameters are $W^{[1]}$ $(5, 4)$, $b^{[1]}$ $(5, 1)$, $W^{[2]}$ $(3, 5)$,
        $b^{[2]}$ $(3, 1)$, $W^{[3]}$ $(1, 3)$ and $b^{[3]}$ $(1, 1)$: $20 + 5 + 15 + 3 + 3 + 1 = 47$
        numbers.

        The **backward pass** runs the same steps in reverse and produces one gradient per parameter,
        with the parameter's shape:

        | step | formula | shape |
        |---|---|---|
        | output | $dZ^{[3]} = A^{[3]} - Y$ | $(1, m)$ |
        | layer 3 | $dW^{[3]} = \frac{1}{m} dZ^{[3]} A^{[2]T}$, $\;db^{[3]} = \frac{1}{m} \sum_j dZ^{[3]}$ | $(1, 3)$, $(1, 1)$ |
        | layer 2 | $dZ^{[2]} = (W^{[3]T} dZ^{[3]}) \odot [Z^{[2]} > 0]$, then $dW^{[2]}, db^{[2]}$ the same way | $(3, m)$ |
        | layer 1 | $dZ^{[1]} = (W^{[2]T} dZ^{[2]}) \odot [Z^{[1]} > 0]$, then $dW^{[1]}, db^{[1]}$ | $(5, m)$ |

        ($\odot$ multiplies entry by entry; $[Z > 0]$ is 1 where $Z$ is positive and 0 elsewhere, the
        derivative of relu.)

        ## 2. The given forward and backward passes

        You do not write the network this time: `course_utils.models` provides

        * `forward_propagation_n(X, Y, parameters)`, which returns the cost and a `cache` of the
          intermediate values, and
        * `backward_propagation_n(X, Y, cache)`, which returns the dictionary of gradients
          `{"dW1": ..., "db1": ..., ...}`.

        Your job is to **check** them, exactly as you would check a colleague's code. (To read their
        source, run `forward_propagation_n??` in a new cell.) The test case below is a small batch of
        $m = 3$ payments with fixed random parameters.
        """),
        code("""
        X, Y, parameters = gradient_check_n_test_case()
        cost, cache = forward_propagation_n(X, Y, parameters)
        gradients = backward_propagation_n(X, Y, cache)

        print(f"X: {X.shape}, Y: {Y.shape}, cost J = {cost:.6f}")
        for name, value in parameters.items():
            print(f"{name}: shape {value.shape}    d{name}: shape {gradients['d' + name].shape}")
        """),
        md(r"""
        ## 3. One vector for all the parameters

        The centered difference nudges **one number at a time**. With six arrays of different shapes,
        "parameter number 23" is awkward to find, so we first lay all 47 numbers end to end in a single
        column vector $\theta$ of shape $(47, 1)$:

        ![Each parameter array, read row by row, becomes one segment of the column vector theta](images/flatten_vector.png)

        Three helpers do the bookkeeping (you will use all three):

        * `theta, keys = dictionary_to_vector(parameters)` flattens the parameters into `theta`
          $(n, 1)$; `keys[i]` names entry $i$, e.g. `"W2[1, 3]"`;
        * `vector_to_dictionary(theta, parameters)` does the reverse: it cuts `theta` back into arrays
          with the shapes of `parameters` (it reads only the names and shapes of its second argument);
        * `gradients_to_vector(gradients, parameters)` flattens the gradients **in the same order**, so
          that entry $i$ of both vectors talks about the same parameter.
        """),
        code("""
        theta, keys = dictionary_to_vector(parameters)
        grad = gradients_to_vector(gradients, parameters)
        print(f"theta: {theta.shape}, grad: {grad.shape}")
        for i in [0, 19, 20, 46]:
            print(f"entry {i:2d} is {keys[i]:<8}  theta = {theta[i, 0]: .6f}   grad = {grad[i, 0]: .6f}")

        back = vector_to_dictionary(theta, parameters)
        print("round trip gives the same arrays:", all(np.array_equal(back[k], parameters[k]) for k in parameters))
        """),
        md(r"""
        ## 4. Checking every parameter

        The check for one parameter $\theta_i$ is the one from notebook 1: change only entry $i$ by
        $+\varepsilon$ and by $-\varepsilon$, evaluate the cost both times, and take the centered
        difference. Doing this for every $i$ gives a whole vector `gradapprox`, which is compared with
        `grad` by the same relative difference, now on vectors of 47 entries:

        $$\text{difference} = \frac{\lVert \text{grad} - \text{gradapprox} \rVert_2}
          {\lVert \text{grad} \rVert_2 + \lVert \text{gradapprox} \rVert_2}.$$

        ### Exercise 4: `gradient_check_n`

        For each `i` in `range(num_parameters)`:

        1. `theta_plus = np.copy(parameters_values)`, then add `epsilon` to `theta_plus[i]`, and compute
           `J_plus[i]` with `forward_propagation_n(X, Y, vector_to_dictionary(theta_plus, parameters))`
           (it returns two values; keep the first).
        2. The same with `theta_minus` and `-epsilon`, giving `J_minus[i]`.
        3. `gradapprox[i] = (J_plus[i] - J_minus[i]) / (2 * epsilon)`.

        After the loop, compute `difference` as above with `np.linalg.norm` and return it as a `float`.

        **Make a copy.** `theta_plus = parameters_values` does *not* copy a NumPy array: it gives the
        same array a second name, so changing `theta_plus[i]` would change `parameters_values` too, and
        every later step would start from the wrong point. `np.copy` makes a real copy.
        """),
        exercise('''
        def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
            """Compare backward_propagation_n's gradients with centered differences of the cost.

            Parameters
            ----------
            parameters : dict W1 (5, 4), b1 (5, 1), W2 (3, 5), b2 (3, 1), W3 (1, 3), b3 (1, 1)
            gradients : dict dW1, db1, ..., db3, each of its parameter's shape
            X : ndarray, shape (4, m), the payments
            Y : ndarray, shape (1, m), the labels
            epsilon : float, the step of the centered differences
            print_msg : bool, print a green (agree) or red (disagree) verdict

            Returns
            -------
            difference : float, ||grad - gradapprox|| / (||grad|| + ||gradapprox||)
            """
            parameters_values, _ = dictionary_to_vector(parameters)  # shape (n, 1)
            grad = gradients_to_vector(gradients, parameters)  # shape (n, 1)
            num_parameters = parameters_values.shape[0]
            J_plus = np.zeros((num_parameters, 1))
            J_minus = np.zeros((num_parameters, 1))
            gradapprox = np.zeros((num_parameters, 1))

            for i in range(num_parameters):
                ### BEGIN SOLUTION
                theta_plus = np.copy(parameters_values)
                theta_plus[i] = theta_plus[i] + epsilon
                J_plus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_plus, parameters))

                theta_minus = np.copy(parameters_values)
                theta_minus[i] = theta_minus[i] - epsilon
                J_minus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_minus, parameters))

                gradapprox[i] = (J_plus[i] - J_minus[i]) / (2 * epsilon)
                ### END SOLUTION

            ### BEGIN SOLUTION
            numerator = np.linalg.norm(grad - gradapprox)
            denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
            difference = float(numerator / denominator)
            ### END SOLUTION
            if print_msg:
                if difference < 2e-7:
                    print(f"\\033[92m\\u2714 backward propagation agrees with the centered differences "
                          f"(difference = {difference:.1e})\\033[0m")
                else:
                    print(f"\\033[91m\\u2718 backward propagation disagrees with the centered differences "
                          f"(difference = {difference:.1e})\\033[0m")
            return difference


        difference = gradient_check_n(parameters, gradients, X, Y, print_msg=True)
        ''', grade_id="gradient_check_n"),
        md("""
        The test runs your function on the course's test case and on a small 3-4-2-1 network, with correct
        gradients and with deliberately wrong ones, at several values of `epsilon`. It hands your function
        the course's `forward_propagation_n`, and watches where the cost is evaluated.
        """),
        tests("""
        gradient_check_n_test(gradient_check_n)
        ### BEGIN HIDDEN TESTS
        from course_utils.judges import COURSE_SEED, judge
        _v = judge("gradient_check_n", gradient_check_n, cases="hidden", rng=COURSE_SEED)
        assert _v.passed, _v.message
        ### END HIDDEN TESTS
        """, grade_id="gradient_check_n_tests", points=3),
        md(r"""
        ### Why the verdict uses $2 \times 10^{-7}$

        Backpropagation is correct here, yet the difference is about $10^{-7}$, not zero. The reason is
        the tiny step: at $\varepsilon = 10^{-7}$ the two costs `J_plus[i]` and `J_minus[i]` agree in
        their first 7 or so digits, and subtracting them throws those digits away, leaving the round-off
        of the last ones. That is why the verdict printed by `gradient_check_n` draws its line at
        $2 \times 10^{-7}$: a correct network lands at about $1.2 \times 10^{-7}$ with this step, just
        above the $10^{-7}$ of notebook 1's table. A slightly larger step does much better, as the next
        cell shows. (Notebook 4 is about choosing $\varepsilon$.)
        """),
        code("""
        with needs_exercise("Exercise 4 (gradient_check_n)"):
            for epsilon in [1e-7, 1e-4]:
                d = gradient_check_n(parameters, gradients, X, Y, epsilon=epsilon)
                print(f"epsilon = {epsilon:.0e}: difference = {d:.1e}")
        """),
        md(r"""
        ## 5. A bug, and what one number tells you about it

        Now let us plant a bug of the kind a tired colleague might make: `dW2` comes out twice too large
        and `db1` four times too large. Run your check on these gradients.
        """),
        code("""
        buggy_gradients = dict(gradients, dW2=2 * gradients["dW2"], db1=4 * gradients["db1"])
        with needs_exercise("Exercise 4 (gradient_check_n)"):
            difference = gradient_check_n(parameters, buggy_gradients, X, Y, print_msg=True)
            print(f"difference = {difference:.3e}")
        """),
        md(r"""
        The check raises the alarm: a difference of about $0.29$ means the gradients are badly wrong. But
        **which** of the six gradients is wrong? One global number cannot say. You could print
        `gradapprox` and `grad` side by side and compare 47 pairs by eye; it is better to let a tool do it.

        ## 6. What one number hides: a report per parameter

        The course library's `check_gradients(cost, parameters, gradients)` runs the same centered
        differences, then reports the relative difference **per parameter array**, worst first, and the
        entries that disagree most, by name. It takes the cost as a function of the parameter
        dictionary. Its step is chosen for double precision (about $6 \times 10^{-6}$ here instead of
        $10^{-7}$), so a correct gradient agrees to about $10^{-9}$, and its verdict line states the
        threshold it uses, $10^{-6}$. First with the correct gradients:
        """),
        code("""
        def cost(params):
            J, _ = forward_propagation_n(X, Y, params)
            return J

        report = check_gradients(cost, parameters, gradients)
        steps = report.epsilon  # one step per entry: u^(1/3) * max(1, |theta_i|)
        print(f"the checker's step: {np.median(steps):.1e} for most entries "
              f"({np.min(steps):.1e} to {np.max(steps):.1e}: larger where a parameter is larger than 1)")
        report
        """),
        md("""
        Every block is `ok`. Now the buggy gradients:
        """),
        code("""
        buggy_report = check_gradients(cost, parameters, buggy_gradients)
        buggy_report
        """),
        md(r"""
        The report points straight at the two culprits: `b1` and `W2` are marked **WRONG**, and the other
        four blocks are fine. Their relative differences are also telling: a gradient that is $k$ times
        too large gives exactly $\frac{|k - 1|}{k + 1}$, so $\frac{3}{5} = 0.6$ for `db1` (times 4) and
        $\frac{1}{3}$ for `dW2` (times 2).

        Why does the table say `failing 4` for `b1`, which has 5 entries, and for `W2`, which has 15? Where
        the true gradient is exactly 0 (a unit whose ReLU is off for all three examples), twice or four
        times 0 is still 0: those entries agree, so they do not fail. The cell below counts them, and reads
        the other answers in code:
        """),
        code("""
        print("failing blocks:", buggy_report.failing_blocks())
        for name in buggy_report.failing_blocks():
            block, true_gradient = buggy_report.block(name), gradients["d" + name]
            n_zero = int(np.count_nonzero(true_gradient == 0))
            print(f"  {name}: {true_gradient.size} entries, {n_zero} with a true gradient of exactly 0, "
                  f"{block.n_failing} failing")
        n_parameters = sum(value.size for value in parameters.values())
        print(f"cost evaluations: {buggy_report.n_evaluations} = 2 per parameter + 1 ({2 * n_parameters + 1}), "
              f"plus {buggy_report.n_evaluations - 2 * n_parameters - 1} to measure the cost's noise "
              f"and re-check the wrong entries at a second step")
        """),
        md(r"""
        ## What to remember

        * A network's gradient check is the 1-D check done **once per parameter**: flatten all parameters
          into one vector, nudge each entry by $\pm\varepsilon$ on a *copy*, take the centered
          difference, and compare the two gradient vectors with the relative difference.
        * One global number says *whether* backpropagation is wrong; a **per-parameter report** says
          *where*. Look at the blocks before you start reading code.
        * **It is slow**: it needs 2 cost evaluations per parameter (95 here, millions or billions
          for a real network). Use it only to debug, on a small network or a few examples, never during training.
        * **Turn dropout (and any other randomness) off** while checking: a cost that changes randomly
          between the two evaluations cannot be differentiated this way. Turn it back on afterwards.
        * **Include the regularization term** if you use one: it is part of the cost, so its gradient must
          be part of backpropagation, and the check must see both.
        * **Check at random initialization, and again after some training.** Some bugs only show when
          the parameters have moved away from their small initial values.
        """),
    ])
