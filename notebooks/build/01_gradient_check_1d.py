"""Build script of notebook 01: gradient checking on a model with one parameter.

``build()`` returns the master (solutions included, no outputs); ``python -m tools.notebooks 01``
writes it to notebooks/source/, executes it and releases the student version.
"""

from tools.nbbuild import code, exercise, md, notebook, setup, tests

NOTEBOOK_ID = "01_gradient_check_1d"


def build():
    """The master notebook 01_gradient_check_1d (nbformat NotebookNode, without outputs)."""
    return notebook(NOTEBOOK_ID, [
        md(r"""
        # Gradient checking, part 1: one parameter

        You have joined a team that builds a model to flag fraudulent card payments. Every payment the
        model lets through by mistake costs real money, and every honest payment it blocks annoys a
        customer. Before it goes live, the team has to show that its training code is right, and in
        particular that **backpropagation computes the gradients it claims to compute**.

        Backpropagation bugs are sneaky: a network trained with a slightly wrong gradient often still
        learns *something*, so the loss goes down and nothing looks broken. A **gradient check** catches
        these bugs by comparing backpropagation with a second, independent way of computing the same
        derivative. This notebook builds that check on the smallest model there is; the next notebook
        scales it to a whole network.

        **Learning goals.** After this notebook you can

        1. explain why a derivative can be approximated by evaluating the cost at two nearby points;
        2. compute a *centered difference* and say why it beats the one-sided one;
        3. measure how far two gradients are apart with a *relative difference*, and read the result;
        4. write `gradient_check` for a model with one parameter.

        **How to work.** Run the cells from top to bottom (Shift+Enter). Cells that say
        `# YOUR CODE HERE` are yours: replace `raise NotImplementedError()` with your code, run the cell,
        then run the test cell below it. A test prints a line starting with ✔ when your code is right,
        and otherwise tells you what looks wrong.
        """),
        md("""
        ## 0. Setup

        This cell imports NumPy and the course's test functions. Run it first.
        """),
        setup("""
        import numpy as np

        from course_utils.checks import (
            backward_propagation_test,
            forward_propagation_test,
            gradient_check_test,
            needs_exercise,
        )
        """, grade_id="setup"),
        md(r"""
        ## 1. The derivative is a limit

        The derivative of a cost $J$ with respect to a parameter $\theta$ is the slope of $J$ at
        $\theta$: how much $J$ changes per unit change of $\theta$, for very small changes. One way to
        write it is

        $$\frac{\partial J}{\partial \theta} = \lim_{\varepsilon \to 0}
          \frac{J(\theta + \varepsilon) - J(\theta - \varepsilon)}{2 \varepsilon}.$$

        Read it as: step a little to the right ($\theta + \varepsilon$) and a little to the left
        ($\theta - \varepsilon$), see how much the cost changed, and divide by the width of the step,
        which is $2\varepsilon$ because the two points are $2\varepsilon$ apart.

        If we do not take the limit but simply pick a small $\varepsilon$ (say $10^{-7}$), we get an
        **approximation** of the derivative that needs nothing but the cost function itself. No calculus,
        no backpropagation: that is exactly what makes it a good independent check.

        This formula, with one point on each side of $\theta$, is called the **centered difference**. The
        one-sided version $\frac{J(\theta + \varepsilon) - J(\theta)}{\varepsilon}$ also tends to the
        derivative, but much more slowly: its error shrinks like $\varepsilon$, while the centered
        difference's error shrinks like $\varepsilon^2$. The next cell shows it on $J(\theta) = \theta^3$
        at $\theta = 2$, whose derivative is $3\theta^2 = 12$.
        """),
        code("""
        def cube(theta):
            return theta ** 3

        theta0, exact = 2.0, 12.0
        print("epsilon    one-sided error   centered error")
        for epsilon in [1e-1, 1e-2, 1e-3]:
            one_sided = (cube(theta0 + epsilon) - cube(theta0)) / epsilon
            centered = (cube(theta0 + epsilon) - cube(theta0 - epsilon)) / (2 * epsilon)
            print(f"{epsilon:.0e}      {abs(one_sided - exact):.3e}         {abs(centered - exact):.3e}")
        """),
        md(r"""
        Each time $\varepsilon$ shrinks by 10, the one-sided error shrinks by about 10, and the centered
        error by about 100. That is why gradient checking uses the centered difference.

        (Why not simply take $\varepsilon$ as tiny as possible? Because a computer stores numbers with
        about 16 significant digits, and subtracting two nearly equal costs loses most of them. Notebook 4
        explores how to choose $\varepsilon$; here we use the classic $\varepsilon = 10^{-7}$.)
        """),
        md(r"""
        ## 2. A model with one parameter

        To learn the check without distractions, we use a model so small that you can compute its
        derivative in your head. It takes one input $x$ and one parameter $\theta$, and its "cost" is

        $$J(\theta) = \theta x.$$

        ![The 1-D model: x and theta are multiplied to give J; backpropagation gives dJ/dtheta = x](images/model_1d.png)

        Like a real network, it has two parts:

        * **forward propagation** computes the cost $J$ from the inputs;
        * **backward propagation** computes the derivative $\frac{\partial J}{\partial \theta}$.

        ### Exercise 1: `forward_propagation`

        Write `forward_propagation(x, theta)` that returns $J = \theta x$. The lines after the function
        call it once so that you can see its result.
        """),
        exercise('''
        def forward_propagation(x, theta):
            """Cost of the 1-D model, J(theta) = theta * x.

            Parameters
            ----------
            x : float, the input
            theta : float, the parameter

            Returns
            -------
            J : float, the cost theta * x
            """
            ### BEGIN SOLUTION
            J = theta * x
            ### END SOLUTION
            return J


        J = forward_propagation(x=2.0, theta=4.0)
        print(f"J = {J}")
        ''', grade_id="forward_propagation"),
        md("Run the test below. It tries your function on several inputs."),
        tests("""
        forward_propagation_test(forward_propagation)
        ### BEGIN HIDDEN TESTS
        from course_utils.judges import COURSE_SEED, judge
        _v = judge("forward_propagation", forward_propagation, cases="hidden", rng=COURSE_SEED)
        assert _v.passed, _v.message
        ### END HIDDEN TESTS
        """, grade_id="forward_propagation_tests", points=1),
        md(r"""
        ### Exercise 2: `backward_propagation`

        Now the derivative. For $J(\theta) = \theta x$ the rules of calculus give

        $$\frac{\partial J}{\partial \theta} = x.$$

        Write `backward_propagation(x, theta)` that returns it. (It does not use `theta`: the slope of a
        straight line is the same everywhere. The argument is there because a real backward pass needs
        the parameters.)
        """),
        exercise('''
        def backward_propagation(x, theta):
            """Derivative of the 1-D model's cost with respect to theta.

            Parameters
            ----------
            x : float, the input
            theta : float, the parameter

            Returns
            -------
            dtheta : float, dJ/dtheta
            """
            ### BEGIN SOLUTION
            dtheta = x
            ### END SOLUTION
            return dtheta


        dtheta = backward_propagation(x=2.0, theta=4.0)
        print(f"dtheta = {dtheta}")
        ''', grade_id="backward_propagation"),
        tests("""
        backward_propagation_test(backward_propagation)
        ### BEGIN HIDDEN TESTS
        from course_utils.judges import COURSE_SEED, judge
        _v = judge("backward_propagation", backward_propagation, cases="hidden", rng=COURSE_SEED)
        assert _v.passed, _v.message
        ### END HIDDEN TESTS
        """, grade_id="backward_propagation_tests", points=1),
        md(r"""
        ## 3. Comparing two gradients: the relative difference

        We now have two numbers that should agree: `grad`, from backward propagation, and `gradapprox`,
        from the centered difference. They will never be *exactly* equal (the centered difference is an
        approximation), so we need a measure of "close enough" that does not depend on how large the
        gradient happens to be. The course uses the **relative difference**

        $$\text{difference} = \frac{\lVert \text{grad} - \text{gradapprox} \rVert_2}
          {\lVert \text{grad} \rVert_2 + \lVert \text{gradapprox} \rVert_2}.$$

        * The numerator is the distance between the two gradients.
        * The denominator is their combined size; dividing by it makes the result a *fraction*: 0 when
          they are equal, 1 when they point in opposite directions, never more than 1.

        Here each gradient is a single number, so the norm $\lVert\cdot\rVert_2$ is the absolute value;
        use `np.linalg.norm` anyway, so that the same code works for vectors in the next notebook.

        How to read the result, at $\varepsilon = 10^{-7}$ in double precision:

        | difference | what it means |
        |---|---|
        | below $10^{-7}$ | the gradients agree: backpropagation is right |
        | between $10^{-7}$ and $10^{-3}$ | suspicious: look closer before trusting it |
        | above $10^{-3}$ | almost certainly a bug |

        ### Exercise 3: `gradient_check`

        Write `gradient_check(x, theta, epsilon=1e-7, print_msg=False)` in three steps:

        1. **The approximation.** Compute `theta_plus = theta + epsilon` and
           `theta_minus = theta - epsilon`, the costs `J_plus` and `J_minus` with your
           `forward_propagation`, and `gradapprox = (J_plus - J_minus) / (2 * epsilon)`.
        2. **The gradient.** Compute `grad` with your `backward_propagation`.
        3. **The comparison.** Compute `difference` with the formula above, using `np.linalg.norm`, and
           return it as a Python `float`.

        The code that prints a verdict when `print_msg=True` is already written for you.
        """),
        exercise('''
        def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
            """Compare backward_propagation with a centered difference of forward_propagation.

            Parameters
            ----------
            x : float, the input
            theta : float, the parameter
            epsilon : float, the step of the centered difference
            print_msg : bool, print a green (agree) or red (disagree) verdict

            Returns
            -------
            difference : float, ||grad - gradapprox|| / (||grad|| + ||gradapprox||)
            """
            ### BEGIN SOLUTION
            theta_plus = theta + epsilon
            theta_minus = theta - epsilon
            J_plus = forward_propagation(x, theta_plus)
            J_minus = forward_propagation(x, theta_minus)
            gradapprox = (J_plus - J_minus) / (2 * epsilon)

            grad = backward_propagation(x, theta)

            numerator = np.linalg.norm(grad - gradapprox)
            denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
            difference = float(numerator / denominator)
            ### END SOLUTION
            if print_msg:
                if difference < 1e-7:
                    print(f"\\033[92m\\u2714 backward propagation agrees with the centered difference "
                          f"(difference = {difference:.1e})\\033[0m")
                else:
                    print(f"\\033[91m\\u2718 backward propagation disagrees with the centered difference "
                          f"(difference = {difference:.1e})\\033[0m")
            return difference


        difference = gradient_check(x=3.0, theta=4.0, print_msg=True)
        ''', grade_id="gradient_check"),
        md("""
        The test below runs your `gradient_check` with the correct derivative *and* with a deliberately
        wrong one: a check that always says "fine" is no check at all.
        """),
        tests("""
        gradient_check_test(gradient_check)
        ### BEGIN HIDDEN TESTS
        from course_utils.judges import COURSE_SEED, judge
        _v = judge("gradient_check", gradient_check, cases="hidden", rng=COURSE_SEED)
        assert _v.passed, _v.message
        ### END HIDDEN TESTS
        """, grade_id="gradient_check_tests", points=2),
        md(r"""
        ## 4. What the check sees when backpropagation is wrong

        Suppose someone made a slip in the derivative and wrote $2x$ instead of $x$. The next cell
        repeats the check by hand with that wrong derivative. The centered difference does not care what
        backpropagation says: it still measures the true slope, $x = 3$, so the two disagree.
        """),
        code("""
        x, theta, epsilon = 3.0, 4.0, 1e-7
        with needs_exercise("Exercise 1 (forward_propagation)"):
            gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
            wrong_grad = 2 * x  # the slip
            wrong_difference = abs(wrong_grad - gradapprox) / (abs(wrong_grad) + abs(gradapprox))
            print(f"gradapprox = {gradapprox:.6f}, wrong grad = {wrong_grad:.6f}, difference = {wrong_difference:.3e}")
        """),
        md(r"""
        A difference of about $0.33$ is far above $10^{-3}$: the check has caught the bug. (A factor-$k$
        mistake always gives $|k - 1| / (k + 1)$, here $1/3$.)

        ## What to remember

        * Backpropagation can be wrong while training still seems to work; a gradient check is how you
          find out.
        * The **centered difference** $\frac{J(\theta + \varepsilon) - J(\theta - \varepsilon)}{2\varepsilon}$
          approximates the derivative using only the cost. Divide by $2\varepsilon$, the full width of
          the step.
        * Compare with the **relative difference**
          $\frac{\lVert g - \hat g\rVert}{\lVert g\rVert + \lVert \hat g\rVert}$: below about $10^{-7}$
          the gradients agree, above about $10^{-3}$ there is a bug.
        * The check only needs forward propagation, so it is independent of the backpropagation code it
          tests.

        **Next:** notebook 2 checks the gradients of the whole fraud-detection network, where the same
        idea runs once for every one of its 47 parameters.
        """),
    ])
