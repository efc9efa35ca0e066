"""Build script of notebook 04: choosing the step epsilon (truncation, round-off, precision).

``build()`` returns the master (solutions included, no outputs); ``python -m tools.notebooks 04``
writes it to notebooks/source/, executes it and releases the student version.
"""

from tools.nbbuild import code, exercise, md, notebook, setup, tests

NOTEBOOK_ID = "04_choosing_epsilon"


def build():
    """The master notebook 04_choosing_epsilon (nbformat NotebookNode, without outputs)."""
    return notebook(NOTEBOOK_ID, [
        md(r"""
        # Gradient checking, part 4: choosing the step $\varepsilon$

        In notebooks 1 and 2 you checked with the classic step $\varepsilon = 10^{-7}$, and a *correct*
        network gave a relative difference of about $10^{-7}$: not zero, and uncomfortably close to the
        alarm threshold. Notebook 2 also showed that $\varepsilon = 10^{-4}$ did much better, and the
        course's checker uses about $6 \times 10^{-6}$. This notebook explains why, and how to
        pick the step yourself.

        **Learning goals.** After this notebook you can

        1. name the two errors of a finite difference, **truncation** and **round-off**, and say how each
           depends on $\varepsilon$;
        2. compute the best step from the machine precision: $u^{1/3}$ for centered differences and
           $\sqrt{u}$ for forward differences (times the size of $\theta$);
        3. say what threshold a float32 check can honestly use;
        4. recognise a step that crosses a ReLU kink, and know when the complex step applies;
        5. check a big model with a few random directions instead of every parameter.

        Run the cells in order. The exercise is in section 4.
        """),
        md("""
        ## 0. Setup
        """),
        setup("""
        %matplotlib inline
        import warnings

        import numpy as np

        from course_utils.checks import needs_exercise, optimal_epsilon_test
        from course_utils.gradcheck import check_gradients
        from course_utils.models import backward_propagation_n, forward_propagation_n
        from course_utils.plots import plot_error_vs_epsilon, plot_methods_vs_epsilon
        from course_utils.stepsize import SweepCache, error_at, kink_step, measured_best, rule_of_thumb_epsilon
        from course_utils.testcases import gradient_check_n_test_case

        X, Y, parameters = gradient_check_n_test_case()
        cost_value, cache = forward_propagation_n(X, Y, parameters)
        gradients = backward_propagation_n(X, Y, cache)
        sweeps = SweepCache()  # keeps every error curve computed below, so each is computed once
        """, grade_id="setup"),
        md(r"""
        ## 1. The same correct network, two steps

        Here is the per-entry check of notebook 2 on the course's test case, with the correct
        backpropagation, at the classic step and at a 1000 times larger one.
        """),
        code("""
        at_classic = error_at("net", "centered", "float64", 1e-7)
        at_larger = error_at("net", "centered", "float64", 1e-4)
        print(f"epsilon = 1e-07: relative difference = {at_classic:.1e}")
        print(f"epsilon = 1e-04: relative difference = {at_larger:.1e}")
        print(f"the larger step is {at_classic / at_larger:.0f} times more accurate")
        """),
        md(r"""
        The larger step is about **600 times more accurate**. Nothing is wrong with the network; the
        error is in the finite difference itself. To see why, we need to look at all steps at once.

        ## 2. Two errors pulling in opposite directions

        The centered difference $\hat g = \frac{J(\theta + \varepsilon) - J(\theta - \varepsilon)}{2\varepsilon}$
        makes two different errors.

        **Truncation error** (the formula is only an approximation). By Taylor's theorem,
        $J(\theta \pm \varepsilon) = J \pm \varepsilon J' + \frac{\varepsilon^2}{2} J'' \pm
        \frac{\varepsilon^3}{6} J''' + \dots$; the even terms cancel in the difference and
        $\hat g = J' + \frac{\varepsilon^2}{6} J''' + \dots$. The error shrinks like $\varepsilon^2$:
        **smaller steps are better**.

        **Round-off error** (the computer only keeps about 16 digits). Every floating-point operation
        rounds its result to a relative error of at most $u/2$, where $u$ is the *machine epsilon* of the
        precision ($2.2 \times 10^{-16}$ in float64, $1.2 \times 10^{-7}$ in float32; NumPy calls it
        `np.finfo(dtype).eps`). A cost made of many operations collects several such errors, so each
        computed value of $J$ is off by a few times $u\,|J|$. The difference of
        two nearly equal numbers keeps those absolute errors, and dividing by $2\varepsilon$ magnifies
        them: the error grows like $u / \varepsilon$. **Smaller steps are worse.**

        Together, with constants $C_1$ and $C_2$ that depend on the function:

        $$\text{error}(\varepsilon) \approx C_1\,\varepsilon^2 + C_2\,\frac{u}{\varepsilon}.$$

        On log-log axes the first term is a line of slope $+2$ and the second a line of slope $-1$. The
        plot below measures the error of the network's check for 97 steps from $10^{-12}$ to $1$ (the
        orange mark is the classic $10^{-7}$) and draws both lines, fitted to the measurements, and
        their sum.
        """),
        code("""
        net_curve = sweeps.get("net", "centered", "float64")
        print(f"{net_curve.eps.size} steps from {net_curve.eps[0]:.0e} to {net_curve.eps[-1]:.0e}")
        plot_error_vs_epsilon("net", "centered", "float64", eps=1e-7, cache=sweeps)
        """),
        md(r"""
        Read it from left to right: the measured error falls along the round-off line (slope $-1$),
        reaches its minimum where the two lines cross, then climbs along the truncation line (slope
        $+2$). The classic step sits on the round-off side, almost a thousand times smaller than the
        best step, and its difference is almost a thousand times the smallest one (the cell below prints
        both). (On the far right the step is so large that it crosses a ReLU kink; section 6 is about
        that.)

        The slopes are not just drawn, they are measured. We fit a line to each region of the curve:
        """),
        code("""
        best_eps, best_err = measured_best(net_curve)
        small = net_curve.eps < best_eps / 30
        large = (net_curve.eps > best_eps * 30) & (net_curve.eps < 3e-2)
        slope_small = np.polyfit(np.log10(net_curve.eps[small]), np.log10(net_curve.error[small]), 1)[0]
        slope_large = np.polyfit(np.log10(net_curve.eps[large]), np.log10(net_curve.error[large]), 1)[0]
        print(f"slope left of the minimum:  {slope_small:+.1f} (round-off, u / eps)")
        print(f"slope right of the minimum: {slope_large:+.1f} (truncation, eps**2)")
        print(f"measured best step: about 1e{np.log10(best_eps):.0f} ({best_eps:.1e}), "
              f"relative difference {best_err:.1e}, {at_classic / best_err:.0f} times smaller than at 1e-7")
        print(f"steps from {kink_step(net_curve):.1e} on cross a ReLU kink (the shaded region)")
        """),
        md(r"""
        ### The round-off constant depends on how you compute the cost

        The cost of notebook 2 is the textbook formula $-[y \log a + (1 - y) \log(1 - a)]$. For an
        example with $y = 0$ and $a = 0.9989$, `1 - a` subtracts two nearly equal numbers and loses
        three digits before the check even starts, which raises $C_2$. The same cost computed directly
        from the last layer's pre-activation $z$, as $\log(1 + e^{z}) - y z$, avoids that subtraction.
        Truncation (the function) is the same, so $C_1$ does not change; round-off (the arithmetic) is
        about 100 times lower. At $\varepsilon = 10^{-7}$, where round-off is all there is, the error
        drops 100 times too. At the best step truncation still counts, and the gain is smaller (about
        $100^{2/3} \approx 20$, as the formula of section 3 predicts):
        """),
        code("""
        A3 = cache[9]  # cache = (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)
        print(f"the example with y = 0 has a = {A3[0, 2]:.4f}, so 1 - a = {1 - A3[0, 2]:.1e}")
        numbers = {}
        for model in ["net", "net_stable"]:
            fitted = sweeps.error_model(model, "centered", "float64")
            _, smallest = measured_best(sweeps.get(model, "centered", "float64"))
            at_classic_step = error_at(model, "centered", "float64", 1e-7)
            numbers[model] = (fitted.C2, at_classic_step, smallest)
            print(f"{model:<11} C1 = {fitted.C1:.2f}   C2 = {fitted.C2:.0e}   error at 1e-7 = {at_classic_step:.1e}   "
                  f"best step about 1e{np.log10(fitted.best_epsilon):.0f}, smallest error {smallest:.0e}")
        ratios = [textbook / stable for textbook, stable in zip(numbers["net"], numbers["net_stable"])]
        print("textbook / stable: C2 {:.0f} times, error at 1e-7 {:.0f} times, smallest error {:.0f} times".format(*ratios))
        """),
        md(r"""
        ## 3. The best step

        The error $C_1 \varepsilon^2 + C_2 u / \varepsilon$ is smallest where its derivative
        $2 C_1 \varepsilon - C_2 u / \varepsilon^2$ is zero:

        $$\varepsilon^* = \left(\frac{C_2\,u}{2\,C_1}\right)^{1/3} \propto u^{1/3}.$$

        The constants are rarely known, but for a well-scaled function they are of order one, and the
        rule of thumb is simply $\varepsilon^* \approx u^{1/3}$: about $6 \times 10^{-6}$ in float64.
        The rounding errors also grow with the numbers involved: near $\theta$, floating-point numbers
        are about $u\,|\theta|$ apart, so $\theta + \varepsilon$ itself is rounded by that much. The
        step is therefore scaled with the size of the parameter:
        $\varepsilon^* \approx u^{1/3} \cdot \max(1, |\theta|)$.

        The **forward** difference $\frac{J(\theta + \varepsilon) - J(\theta)}{\varepsilon}$ is cheaper
        (one new evaluation instead of two) but its truncation error is $\frac{\varepsilon}{2} J''$, of
        order $\varepsilon$, so its error is $C_1 \varepsilon + C_2 u / \varepsilon$ and its best step is
        $\varepsilon^* \approx \sqrt{u} \approx 1.5 \times 10^{-8}$, where the error is of order
        $\sqrt{u}$, about $10^{-8}$: never as good as centered differences (about $u^{2/3} \approx
        4 \times 10^{-11}$ at their best step).

        ## 4. Exercise: compute the optimal step

        ### Exercise 4: `optimal_epsilon`

        Write `optimal_epsilon(dtype, method="centered", scale=1.0)` that returns the rule-of-thumb step:
        $u^{1/3} \cdot \text{scale}$ for `"centered"` and $u^{1/2} \cdot \text{scale}$ for `"forward"`.

        * $u$ is the machine epsilon of `dtype`, as in section 2: `np.finfo(dtype).eps` ($2^{-52}$ for
          float64, $2^{-23}$ for float32; one rounding errs by at most $u/2$). `dtype` may be `np.float64`,
          `np.float32` or their names as strings.
        * `scale` is the size of $\theta$ **as the caller passes it** (a caller who follows section 3
          passes $\max(1, |\theta|)$). Multiply by it as given: do not take $\max(1, \text{scale})$
          inside the function, so `scale=0.5` halves the step.

        Replace the two stub lines with code that sets `eps`; the last line returns it as a `float`. The
        loop under the function prints your steps for float64 and float32: you will check the float64 one
        against a measured error curve just after the test, and the float32 one in section 5.
        """),
        exercise('''
        def optimal_epsilon(dtype, method="centered", scale=1.0):
            """Step that balances truncation and round-off for a finite difference in this precision.

            Parameters
            ----------
            dtype : np.float64, np.float32 (or "float64", "float32"); u = np.finfo(dtype).eps, the
                machine epsilon (one rounding errs by at most u / 2)
            method : "centered" or "forward"
            scale : float, the size of theta as the caller passes it (e.g. max(1, |theta|)); the step is
                multiplied by scale as given, with no max(1, scale) inside

            Returns
            -------
            eps : float, u ** (1 / 3) * scale (centered) or u ** (1 / 2) * scale (forward)
            """
            ### BEGIN SOLUTION
            u = float(np.finfo(dtype).eps)
            power = 1 / 3 if method == "centered" else 1 / 2
            eps = u ** power * scale
            ### END SOLUTION
            return float(eps)


        for dtype in [np.float64, np.float32]:
            print(f"{np.dtype(dtype).name}: centered {optimal_epsilon(dtype):.1e}, "
                  f"forward {optimal_epsilon(dtype, 'forward'):.1e}")
        ''', grade_id="optimal_epsilon"),
        md("""
        The test checks both precisions (given as NumPy types and as names), both methods, and scales
        below and above 1 (taken as given: `scale=0.5` halves the step).
        """),
        tests("""
        optimal_epsilon_test(optimal_epsilon)
        ### BEGIN HIDDEN TESTS
        from course_utils.judges import COURSE_SEED, judge
        _v = judge("optimal_epsilon", optimal_epsilon, cases="hidden", rng=COURSE_SEED)
        assert _v.passed, _v.message
        ### END HIDDEN TESTS
        """, grade_id="optimal_epsilon_tests", points=2),
        md(r"""
        ### Check your step against the curve

        Here is the measured error of the centered difference of $\sin$ at $x = 1$ with your step
        marked. It should sit at the bottom of the V. Change `eps=` to other values to see the error
        grow on both sides.
        """),
        code("""
        with needs_exercise("Exercise 4 (optimal_epsilon)") as pending:
            step64 = optimal_epsilon(np.float64)
        if pending.missing:  # until then, the plot marks the library's rule-of-thumb step
            step64 = rule_of_thumb_epsilon("float64")
        plot_error_vs_epsilon("sin", "centered", "float64", eps=step64, cache=sweeps)
        """),
        md(r"""
        For the network the measured best step (about $10^{-4}$) is about ten times larger than the rule
        of thumb, because the textbook cost has a large round-off constant (section 2). The rule of thumb
        is a starting point, not a law: even there, it gives a difference near $10^{-9}$, about 75 times
        smaller than at $10^{-7}$:
        """),
        code("""
        with needs_exercise("Exercise 4 (optimal_epsilon)") as pending:
            step64 = optimal_epsilon(np.float64)
        if pending.missing:  # until then, the library's rule-of-thumb step
            step64 = rule_of_thumb_epsilon("float64")
        at_rule = error_at("net", "centered", "float64", step64)
        print(f"network, rule-of-thumb step {step64:.1e}: difference {at_rule:.1e}, "
              f"{at_classic / at_rule:.0f} times smaller than at 1e-7")
        print(f"the measured best step {best_eps:.1e} is {best_eps / step64:.0f} times the rule of thumb")
        """),
        md(r"""
        ## 5. float32: what threshold can you honestly use?

        Networks are often trained in float32, where $u \approx 1.2 \times 10^{-7}$. Round-off is about
        $5 \times 10^{8}$ times larger than in float64, so the best step moves up to about
        $u^{1/3} \approx 5 \times 10^{-3}$ and the best error up to about $u^{2/3} \approx 2 \times 10^{-5}$
        (times the constants). Side by side, with your float32 step from the exercise marked on both panels:
        """),
        code("""
        with needs_exercise("Exercise 4 (optimal_epsilon)") as pending:
            step32 = optimal_epsilon(np.float32)
        if pending.missing:  # until then, the plot marks the library's rule-of-thumb step
            step32 = rule_of_thumb_epsilon("float32")
        plot_error_vs_epsilon("net", "centered", dtypes=("float64", "float32"), eps=step32, cache=sweeps)
        """),
        code("""
        u32, u64 = np.finfo(np.float32).eps, np.finfo(np.float64).eps
        eps64, err64 = measured_best(sweeps.get("net", "centered", "float64"))
        eps32, err32 = measured_best(sweeps.get("net", "centered", "float32"))
        print(f"float32: u = {u32:.1e}, {u32 / u64:.1e} times float64's; u**(1/3) = {u32 ** (1 / 3):.0e}, "
              f"u**(2/3) = {u32 ** (2 / 3):.0e}")
        print(f"float64: best step {eps64:.1e}, smallest relative difference {err64:.1e}")
        print(f"float32: best step {eps32:.1e}, smallest relative difference {err32:.1e}")
        print(f"float32 at your step {step32:.1e}: {error_at('net', 'centered', 'float32', step32):.1e}; "
              f"at 1e-7: {error_at('net', 'centered', 'float32', 1e-7):.1f}")
        """),
        md(r"""
        On the lower panel your step sits on the round-off line with an error near $10^{-3}$. The
        network's large round-off constant pushes the measured best step higher still, to a few times
        $10^{-2}$ ($3.2 \times 10^{-2}$), just below the steps that cross a ReLU kink (shaded, from about
        $4 \times 10^{-2}$, as in float64). On the far left the curve is flat at exactly 1: the step is so small that $J(\theta + \varepsilon)$ and $J(\theta - \varepsilon)$
        round to the same float32 number, the difference is 0, and so is the estimated gradient.

        In float32, **no step** gets the network's correct gradient below $10^{-4}$, so a threshold of
        $10^{-7}$ would call every correct float32 network wrong. Honest float32 thresholds are
        $10^{-3}$ to $10^{-2}$; real bugs (a factor 2, a missing term) still give $10^{-1}$ or more.
        Better still: **run the check in float64**, even if you train in float32. The course's checker
        warns when it is given float32 parameters and switches to a float32 step and a threshold of
        $10^{-3}$. It also estimates, entry by entry, how much round-off its step can produce. Here that
        estimate (a cautious upper bound) is above the threshold, so the verdict is neither "passed" nor
        "failed" but **"inconclusive"**: in float32 this check cannot prove the gradient right.
        """),
        code("""
        p32 = {name: value.astype(np.float32) for name, value in parameters.items()}
        g32 = {name: value.astype(np.float32) for name, value in gradients.items()}
        X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            report32 = check_gradients(lambda p: forward_propagation_n(X32, Y32, p)[0], p32, g32)
        print(f"verdict: {report32.verdict} (threshold {report32.threshold:.0e}, "
              f"relative difference about 1e{np.log10(report32.relative_difference):.0f})")
        for w in caught:
            print("warning:", str(w.message).split(";")[0])
        """),
        md(r"""
        ## 6. Kinks: when the step crosses a ReLU

        $\mathrm{relu}(z) = \max(0, z)$ has a corner at $z = 0$. If a pre-activation $z$ is closer to 0
        than the step moves it, $J(\theta + \varepsilon)$ and $J(\theta - \varepsilon)$ lie on different
        sides of the corner and the centered difference averages two different slopes: a false alarm
        for a correct backpropagation (notebook 3 showed one). In the first plot, that is the jump in the
        shaded region on the right (steps above about $4 \times 10^{-2}$).

        This is the price of a larger step: the further it reaches, the more likely some $z$ is within
        reach. Let us move one bias so that one pre-activation is $3 \times 10^{-6}$, and check the
        *correct* gradients at that point with four steps:
        """),
        code("""
        Z1 = parameters["W1"] @ X + parameters["b1"]  # shape (5, 3)
        unit, example = np.unravel_index(np.argmin(np.abs(Z1)), Z1.shape)
        near_kink = {name: value.copy() for name, value in parameters.items()}
        near_kink["b1"][unit, 0] += 3e-6 - Z1[unit, example]  # now Z1[unit, example] = 3e-6
        _, near_cache = forward_propagation_n(X, Y, near_kink)
        near_gradients = backward_propagation_n(X, Y, near_cache)
        for eps in [1e-7, 1e-6, 1e-5, 1e-4]:
            r = check_gradients(lambda p: forward_propagation_n(X, Y, p)[0], near_kink, near_gradients, epsilon=eps)
            print(f"epsilon = {eps:.0e}: relative difference {r.relative_difference:.1e}, verdict {r.verdict}, "
                  f"kinks {[entry.label for entry in r.kinks]}")
        if r.verdict == "inconclusive":
            print("why inconclusive, at 1e-04:", r.notes[0])
        """),
        md(r"""
        Up to $10^{-6}$ the step moves $z$ by less than $3 \times 10^{-6}$: no entry crosses the kink and
        the relative difference stays small. From $10^{-5}$ on, the five parameters that feed this $z$
        (row 1 of `W1` and `b1[1, 0]`) cross the kink, and the relative difference jumps to almost
        $10^{-2}$: a check that only looks at that number would call this correct network broken. The
        course's checker never says "failed" here: it names those five entries as kinks and sets them
        aside. Only the middle step, $10^{-6}$, gets a "passed". At $10^{-7}$ round-off blurs the first
        estimates, and to settle them the checker tries wider steps, which this close to the corner
        reach it; from $10^{-5}$ on, the kink spoils the estimates it kept. The result is
        "inconclusive", with a note saying why (printed above for the last step). The note is the
        checker's general advice for a floor above the threshold. Here the honest reading is simpler:
        at this point no single step is both clear of round-off and clear of the kink for every entry.

        How does it know? With the centered difference it also gets the two one-sided differences,
        $\frac{J(\theta + \varepsilon) - J(\theta)}{\varepsilon}$ and
        $\frac{J(\theta) - J(\theta - \varepsilon)}{\varepsilon}$. On a smooth cost they agree closely;
        across a kink they disagree, and the backpropagated gradient (the slope on the side where
        $\theta$ actually is) matches one of them. A smaller step or another random point clears the
        flagged entries; a real bug survives both.

        ## 7. The complex step: no subtraction, no round-off

        If $J$ is built from analytic operations (polynomials, exp, log, sigmoid...), it can be evaluated
        at a complex point, and $J(\theta + i\varepsilon) = J(\theta) + i\varepsilon J'(\theta) - \dots$ gives

        $$J'(\theta) \approx \frac{\operatorname{Im} J(\theta + i\varepsilon)}{\varepsilon},$$

        with truncation error $\propto \varepsilon^2$ and **no subtraction**, so no round-off growth. The
        step can be as small as $10^{-20}$ and the derivative is exact to machine precision:
        """),
        code("""
        methods_figure = plot_methods_vs_epsilon("net", "float64", cache=sweeps)
        complex_curve = sweeps.get("net", "complex", "float64")
        flat = complex_curve.error[complex_curve.eps <= 1e-6]
        print(f"complex step, every step from 1e-20 to 1e-6: {flat.min():.0e} to {flat.max():.0e}")
        for eps in [1e-5, 1e-4, 1e-2]:
            print(f"complex step at {eps:.0e}: {error_at('net', 'complex', 'float64', eps):.1e}")
        methods_figure
        """),
        md(r"""
        The complex step (green) stays flat at a few times $10^{-14}$ (the round-off of the gradient
        computations themselves) all the way down to $\varepsilon = 10^{-20}$, while forward and
        centered differences are ruined by round-off below their best steps. Above $10^{-6}$ its
        truncation error ($\propto \varepsilon^2$: 100 times more for every 10 times larger step) takes
        over, as for centered differences.

        It needs a cost that carries complex numbers through, and an **analytic** one. The network's
        ReLU, `np.maximum(z, 0)`, works by luck: NumPy compares complex numbers by their real part
        first, so it returns $z$ itself (imaginary part included) where the real part is positive, and 0
        where it is negative: the right slopes. `abs`, or anything that drops the imaginary part
        (`np.real`, `float(...)`), breaks it. Here is $\exp(\mathrm{relu}(x))$ with relu written as
        $(x + |x|)/2$: on real numbers it is the same function, but $|x + i\varepsilon|$ is real, so the
        complex step returns half the slope, for every step. (Half the slope gives a relative difference
        of $\frac{1 - 1/2}{1 + 1/2} = \frac{1}{3}$: the flat line at 0.33.)
        """),
        code("""
        for eps in [1e-20, 1e-10, 1e-3]:
            print(f"complex step on exp(relu(x)), relu via |x|, at {eps:.0e}: "
                  f"{error_at('relu', 'complex', 'float64', eps):.2f}")
        plot_error_vs_epsilon("relu", "complex", "float64", eps=1e-10, cache=sweeps)
        """),
        md(r"""
        ## 8. Optional extra: Richardson extrapolation

        *You can skip this section; nothing later depends on it.*

        The truncation error of the centered difference is $D(\varepsilon) - J' = a\,\varepsilon^2 +
        b\,\varepsilon^4 + \dots$. Combining two steps cancels the $\varepsilon^2$ term:

        $$R(\varepsilon) = \frac{4\,D(\varepsilon/2) - D(\varepsilon)}{3} = J' + O(\varepsilon^4).$$

        With a truncation error of order 4, the best step is larger ($\propto u^{1/5}$) and the error
        smaller (about $u^{4/5}$). Libraries like `numdifftools` repeat this to estimate derivatives very
        accurately; for a *check*, the plain centered difference at a good step is usually enough.
        """),
        code("""
        def centered(f, x, h):
            return (f(x + h) - f(x - h)) / (2 * h)


        exact = np.cos(1.0)
        for h in [1e-1, 1e-2, 1e-3]:
            plain = centered(np.sin, 1.0, h)
            richardson = (4 * centered(np.sin, 1.0, h / 2) - centered(np.sin, 1.0, h)) / 3
            print(f"h = {h:.0e}: centered error {abs(plain - exact):.1e}, Richardson error {abs(richardson - exact):.1e}")
        """),
        md(r"""
        ## 9. Big models: a few random directions instead of every parameter

        The per-entry check costs $2n$ evaluations of the cost ($n = 47$ parameters here, so 94, plus one
        evaluation of $J(\theta)$ itself), two billion for a network with a billion parameters. A
        **random-direction** check asks a different question: along a random direction $v$, does the
        directional derivative from backpropagation, $g \cdot v$, match
        $\frac{J(\theta + \varepsilon v) - J(\theta - \varepsilon v)}{2\varepsilon}$? Each direction costs
        2 evaluations whatever $n$ is, so $k$ directions cost $2k$ (plus the same one for $J(\theta)$).
        When a direction disagrees, the checker spends a few more evaluations before it says "failed":
        it measures the noise of the cost and retries the direction at wider steps, so that a noisy cost
        reads "inconclusive", not "failed" (the buggy line below shows the count).

        Why does a random direction almost never miss a bug? If backpropagation returns $g + d$ with an
        error vector $d \ne 0$, direction $v$ sees the error $d \cdot v$. The checker draws $v$ with
        independent Gaussian entries of variance $1/n$ (a vector of length about 1). Then $d \cdot v$ is
        exactly a Gaussian number with mean 0 and standard deviation $\lVert d \rVert / \sqrt{n}$: it is
        zero with probability 0, and smaller than a quarter of that typical size with probability below
        $0.2$. The directions are independent, so the 4 directions below all see so little with
        probability below $0.2^4 \approx 2 \times 10^{-3}$, and each extra direction divides that by 5.
        """),
        code("""
        def network_cost(p):
            return forward_propagation_n(X, Y, p)[0]


        buggy = dict(gradients, dW2=2 * gradients["dW2"])
        for label, grads in [("correct", gradients), ("dW2 doubled", buggy)]:
            r = check_gradients(network_cost, parameters, grads, mode="random", directions=4, rng=0)
            print(f"{label:<12} {r.verdict:<7} relative difference {r.relative_difference:.1e} "
                  f"with {r.n_evaluations} cost evaluations (a per-entry check needs 95)")
        """),
        md(r"""
        A random-direction check says *whether* the gradient is wrong, not *where*. Use it first on a big
        model; if it fails, check per block (`per_block=True`) or per entry on a smaller copy of the model.

        ## 10. The ε explorer (for live exploration)

        Move the slider and the dropdowns: the verdict and the plot under it update as you go. Click the
        slider's handle and use the arrow keys: each press moves the step a quarter of a decade (the
        slider reaches $10^{-20}$ for the complex step). Try the classic $10^{-7}$ in float64 and in
        float32, the complex step on every model, and steps near 1 on the network. (Where widgets do not
        run, e.g. on GitHub, you see a still picture.)
        """),
        code("""
        # NBVAL_IGNORE_OUTPUT
        from course_utils.widgets import epsilon_explorer

        epsilon_explorer()
        """),
        md(r"""
        ## 11. Noise or bug? How the checker tells them apart

        The round-off term $C_2\,u/\varepsilon$ assumes the cost is computed to about 16 digits. The textbook
        cross-entropy is not, when the output saturates: $1 - A$ is computed from $A \approx 1$, so at a logit
        $z$ it keeps only about $16 - z/\ln 10$ digits, and $-\log(1 - A)$ moves in *stairs*. The checker does
        not assume the noise: it **measures** it at $\theta$ (a difference table of a few costs along a random
        direction, and one repeat of $J(\theta)$), re-checks unsettled entries at other steps, and only then
        decides. Here is one sample with $x = 15$ and $W = 1.6$: a logit of 24, on the wrong side of its label.
        """),
        code("""
        x, y = np.array([[15.0]]), np.array([[0.0]])
        unit = {"W1": np.array([[1.6]]), "b1": np.array([[0.0]])}


        def textbook(p):  # -y log A - (1 - y) log(1 - A), as the course writes it
            A = 1 / (1 + np.exp(-(p["W1"] @ x + p["b1"])))
            return float(np.sum(-y * np.log(A) - (1 - y) * np.log(1 - A)))


        def from_logits(p):  # the same function, written from the logit Z: log(1 + e^Z) - y Z
            Z = p["W1"] @ x + p["b1"]
            return float(np.sum(np.logaddexp(0, Z) - y * Z))


        A = 1 / (1 + np.exp(-(unit["W1"] @ x + unit["b1"])))
        right = {"dW1": (A - y) @ x.T, "db1": A - y}  # the true gradient
        wrong = {"dW1": right["dW1"], "db1": 1.5 * right["db1"]}  # a bug: db1 50% too large
        print(f"logit {(unit['W1'] @ x).item():.0f}, cost {textbook(unit):.2f} (textbook), {from_logits(unit):.2f} (from logits)")
        for name, cost in [("textbook", textbook), ("from logits", from_logits)]:
            for label, grads in [("right", right), ("db1 x 1.5", wrong)]:
                r = check_gradients(cost, unit, grads)
                print(f"{name:<12} {label:<10} {r.verdict:<12} noise {r.noise.sigma:.1e}, "
                      f"{r.noise.digits_lost:.0f} digits lost, relative difference {r.counted_difference:.1e}")
        """),
        md(r"""
        Read the four lines:

        * With the **textbook** cost the measured noise is about $2 \times 10^{-6}$ on a cost of 24: 9 of
          its 16 digits are gone, and even the right gradient differs from the differences by more than
          the $10^{-6}$ threshold. The right gradient is **inconclusive**: the checker says the noise hides
          the answer, how many digits were lost, and what to do (the report's note). It does not cry wolf.
        * The **bug** is still **failed**: a 50 % error is far above that noise, at every step tried.
        * Written **from the logits** the same cost keeps its digits: the right gradient passes with a tiny
          difference, and the bug fails. A numerically careful cost checks more accurately.

        The report says which finding applies to each entry: `wrong`, `kink`, `jump`, `step too large`,
        `noisy cost` (and whether the cost is repeatable at all):
        """),
        code("""
        report = check_gradients(textbook, unit, right)
        print(report.summary())
        print(dict(zip(["W1[0, 0]", "b1[0, 0]"], report.entry_findings)))
        print(report.notes[0])
        """),
        md(r"""
        ## A practical checklist

        * **Debug only.** A gradient check is slow; run it while writing backpropagation, not while
          training.
        * **Turn dropout off** (and any randomness in the cost): the two evaluations must compute the same
          function.
        * **Include regularization** in the checked cost if the gradients include it.
        * **A few examples** are enough ($m = 3$ here), and **a small network** if you can shrink yours.
        * **Check at a characteristic point**: random initialization, and again after some training;
          avoid points where many ReLU inputs sit exactly at 0.
        * **Use float64** for the check, a step near $u^{1/3} \max(1, |\theta|)$, and a threshold that
          matches the precision (about $10^{-6}$ in float64, $10^{-3}$ to $10^{-2}$ in float32).
        * **Kinks flagged?** Re-check those entries with a smaller step or at another point: a kink goes
          away, a real bug stays.
        * **Big model?** Start with a few random directions; if they fail, narrow down per block.

        ## What to remember

        * The error of a finite difference is **truncation + round-off**: $C_1 \varepsilon^2 + C_2 u /
          \varepsilon$ for centered differences, $C_1 \varepsilon + C_2 u / \varepsilon$ for forward ones.
        * The best step balances them: $\varepsilon^* \approx u^{1/3} \cdot$ scale (centered, about
          $6 \times 10^{-6}$ in float64) and $\sqrt{u} \cdot$ scale (forward). The classic $10^{-7}$ is on
          the round-off side.
        * How you compute the cost changes $C_2$: a numerically careful cost checks more accurately.
        * float32 cannot resolve relative differences much below $10^{-4}$: check in float64, or use a
          float32 threshold of $10^{-3}$ to $10^{-2}$.
        * A step that crosses a ReLU kink gives a false alarm, and larger steps cross more kinks; the two
          one-sided differences disagree there, which is how a checker detects it.
        * The complex step has no round-off at all, for analytic costs only.
        * A few random directions check a huge model for $2k$ evaluations and almost never miss a bug.
        """),
    ])
