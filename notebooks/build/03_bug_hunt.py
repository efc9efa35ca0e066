"""Build script of notebook 03: the bug hunt (catching and locating backprop bugs with the checker).

``build()`` returns the master (solutions included, no outputs); ``python -m tools.notebooks 03``
writes it to notebooks/source/, executes it and releases the student version.

The student's buggy backward pass is drawn from the bug catalogue with a fixed seed (``HIDDEN_SEED``),
so the notebook is the same on every build; ``hidden_bugs()`` says which bugs were drawn.
"""

import numpy as np

from course_utils.bugs import CATALOGUE, BugError, written_out
from tools.nbbuild import code, exercise, md, notebook, setup, tests

NOTEBOOK_ID = "03_bug_hunt"

#: Bugs the exercise may hide: each is local (it leaves some blocks right), so the report can point at it.
HIDDEN_POOL = ("weight_grad_transposed", "db_before_relu", "relu_mask_off_by_one", "relu_mask_from_A")
HIDDEN_SEED = 2024
N_HIDDEN = 2


def hidden_bugs(seed=HIDDEN_SEED, pool=HIDDEN_POOL, n=N_HIDDEN):
    """The bugs hidden in the exercise: ``n`` compatible names drawn from ``pool`` (tuple of str)."""
    chosen = []
    for name in np.random.default_rng(seed).permutation(list(pool)):
        try:
            written_out(chosen + [str(name)])
        except BugError:  # rewrites a line an earlier pick already rewrote
            continue
        chosen.append(str(name))
        if len(chosen) == n:
            return tuple(chosen)
    raise BugError(f"cannot draw {n} compatible bugs from {pool}")


def _body(source):
    """The lines of a written-out function after its signature and docstring, as one string."""
    lines = source.rstrip("\n").splitlines()
    start = 1
    if lines[1].strip().startswith('"""'):  # a docstring of one line or several
        start = next(i for i in range(1, len(lines)) if lines[i].count('"""') == 2 or
                     (i > 1 and '"""' in lines[i])) + 1
    return "\n".join(lines[start:])


def _fixed_exercise(body):
    """Source of the exercise cell: signature and docstring, the correct body fenced as the solution."""
    head = '''def backward_propagation_fixed(X, Y, cache):
    """Correct gradients of the 3-layer network's cost (no L2 term).

    Parameters
    ----------
    X : ndarray, shape (n_0, m)
    Y : ndarray, shape (1, m)
    cache : tuple (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) from forward_propagation_n

    Returns
    -------
    gradients : dict dW1 (n_1, n_0), db1 (n_1, 1), dW2 (n_2, n_1), db2 (n_2, 1), dW3 (1, n_2), db3 (1, 1)
    """
    ### BEGIN SOLUTION
'''
    tail = """
    ### END SOLUTION


print(check_backward(backward_propagation_fixed).summary())"""
    return head + body + tail


def build():
    """The master notebook 03_bug_hunt (nbformat NotebookNode, without outputs)."""
    buggy_source = written_out(hidden_bugs(), name="backward_propagation_buggy")
    fixed_body = _body(written_out([], name="backward_propagation_fixed"))
    return notebook(NOTEBOOK_ID, [
        md(r"""
        # Gradient checking, part 3: the bug hunt

        In notebook 2 the gradient check told you *that* the fraud-detection network's backpropagation
        was wrong. A single number cannot tell you *where*. This notebook uses the course's checker,
        `check_gradients`, which reports one relative difference per parameter block (`W1`, `b1`, ...),
        ranks the wrong blocks first, and draws a heatmap of every entry. With it you will hunt real
        bugs: the mistakes people actually make when they write a backward pass by hand.

        **Learning goals.** After this notebook you can

        1. read a gradient-check report and name the blocks a bug touches;
        2. go from the wrong blocks to the wrong lines of code, and fix them;
        3. read the factor $k$ of a scale bug $dW \leftarrow k\,dW$ back from its relative difference;
        4. recognise a false alarm at a ReLU kink, and clear it.

        **How to work.** Run the cells from top to bottom (Shift+Enter). Cells that say
        `# YOUR CODE HERE` are yours; the test cell below each one prints a line starting with ✔ when your
        code is right, and otherwise says what looks wrong.
        """),
        md("""
        ## 0. Setup

        The network is the course's 3-layer net (LINEAR → RELU → LINEAR → RELU → LINEAR → SIGMOID) on
        the test case of notebook 2. `check_backward(backward)` runs the checker on any backward
        function with the signature `backward(X, Y, cache)`; `inject(name)` builds one with a
        catalogued bug planted in it.
        """),
        setup("""
        %matplotlib inline
        import numpy as np

        from course_utils.bugs import CATALOGUE, bug_names, check_backward, correct, inject, scale_bug
        from course_utils.checks import bug_hunt_test, k_from_report_test
        from course_utils.models import forward_propagation_n
        from course_utils.plots import plot_report
        from course_utils.testcases import gradient_check_n_test_case

        X, Y, parameters = gradient_check_n_test_case()
        """, grade_id="setup"),
        md(r"""
        ## 1. A report that says where

        Start with the pair of bugs from the original assignment: `dW2` doubled and `db1` computed with
        `4 / m` instead of `1 / m`. The report's first line is the verdict and the global relative
        difference you know from notebook 2. The table below it has one row per block, **worst first**,
        and then the worst single entries by name.
        """),
        code("""
        report = check_backward(inject("classic_dW2_db1"))
        print(report)
        """),
        md(r"""
        The two wrong blocks are at the top, and every other block agrees to better than $10^{-8}$. The
        picture says the same thing entry by entry. Top row: the relative error of every entry, one
        heatmap per parameter matrix, on a **log** colour scale (yellow is an error near 1, dark is
        agreement); failing entries have a black frame, and the threshold is the line on the colour bar.
        Bottom row: one bar per block, with the threshold as a dashed line; wrong blocks are hatched.
        """),
        code("""
        plot_report(report)
        """),
        md(r"""
        Notice that some entries of `b1` and `W2` are *not* framed: where the true gradient is exactly 0
        (a unit whose ReLU is off for all three examples), twice or four times zero is still zero.

        ## 2. A catalogue of real bugs

        The course library knows 14 mistakes, each with the reason people make it and how to spot it.
        The loop below plants each one in turn and prints which blocks the checker calls wrong, in its
        order. (The three L2 bugs need a regularized cost, so for them the check uses $\lambda = 0.7$.)
        """),
        code("""
        for name in bug_names():
            bug = CATALOGUE[name]
            report = check_backward(inject(name), X, Y, parameters, lambd=bug.lambd)
            wrong = ", ".join(report.failing_blocks())
            l2 = f"   (lambda = {bug.lambd:g})" if bug.lambd else ""
            print(f"{name:<28} relative difference {report.relative_difference:.3e}   wrong: {wrong}{l2}")
        print(f"{len(bug_names())} bugs in the catalogue")
        """),
        md("""
        Read the pattern, not just the verdict:

        * bugs at the **output** (`sigmoid_derivative_twice`, `output_error_reversed`, `cross_entropy_sign`)
          make every block wrong, because every gradient flows through the output (so does
          `missing_1_over_m`, which makes every gradient $m$ times too large);
        * bugs in a **ReLU** leave the last layer right and break the layers below it;
        * bugs in **one formula** (`weight_grad_transposed`, `db_before_relu`, `bias_sum_all_axes`) touch
          only the blocks that formula computes;
        * the **L2** bugs split cleanly into weights or biases.

        Each entry explains itself:
        """),
        code("""
        print(CATALOGUE["relu_instead_of_derivative"].describe())
        """),
        md(r"""
        ## 3. Scale bugs: reading $k$ back

        The simplest bug multiplies one block by a constant, $dW \leftarrow k\,dW$ (a stray `* 2`, a
        `4./m`). Then the block's relative difference does not depend on the data at all:

        $$\frac{\lVert k g - g\rVert}{\lVert k g\rVert + \lVert g\rVert} = \frac{|k - 1|}{k + 1}
          \qquad (k > 0).$$

        For the classic pair that is $1/3$ for `W2` ($k = 2$) and $3/5$ for `b1` ($k = 4$), exactly the
        numbers of section 1. The cell below checks the identity for a few factors.
        """),
        code("""
        for k in [0.5, 2.0, 3.0, 10.0]:
            r = check_backward(inject(scale_bug("W3", k))).block("W3").relative_difference
            print(f"k = {k:>4}: relative difference of W3 = {r:.6f}, |k - 1| / (k + 1) = {abs(k - 1) / (k + 1):.6f}")
        """),
        md(r"""
        Solving $r = (k - 1)/(k + 1)$ for $k$ gives $k = (1 + r)/(1 - r)$ when the analytic gradient is
        the larger one ($k > 1$), and $k = (1 - r)/(1 + r)$ when it is the smaller one ($k < 1$). The
        report has both norms (`block.analytic_norm`, `block.numeric_norm`), so it tells you which case
        you are in.

        ### Exercise 1: `k_from_report`

        A colleague's backward pass scales one block by a factor nobody remembers. Write
        `k_from_report(report, name)` that returns $k$ for block `name` from the report alone.
        """),
        code("""
        k_secret = np.random.default_rng(5).uniform(1.5, 4.0)  # nobody looks at this number
        mystery = inject(scale_bug("b2", k_secret))
        mystery_report = check_backward(mystery)
        print(mystery_report.summary())
        """),
        exercise('''
        def k_from_report(report, name):
            """The factor k of a scale bug d<name> <- k * d<name>, read from a gradient-check report.

            Parameters
            ----------
            report : GradCheckReport from check_gradients / check_backward
            name : str, the block, e.g. "b2"

            Returns
            -------
            k : float
            """
            block = report.block(name)
            r = block.relative_difference
            ### BEGIN SOLUTION
            if block.analytic_norm >= block.numeric_norm:
                k = (1 + r) / (1 - r)
            else:
                k = (1 - r) / (1 + r)
            ### END SOLUTION
            return float(k)


        print(f"k read from the report: {k_from_report(mystery_report, 'b2'):.4f}")
        ''', grade_id="k_from_report"),
        tests("""
        k_from_report_test(k_from_report)
        ### BEGIN HIDDEN TESTS
        from course_utils.judges import COURSE_SEED, judge
        _v = judge("k_from_report", k_from_report, cases="hidden", rng=COURSE_SEED)
        assert _v.passed, _v.message
        ### END HIDDEN TESTS
        """, grade_id="k_from_report_tests", points=1),
        md(r"""
        ## 4. Your turn: a backward pass with hidden bugs

        Below is a backward pass for the 3-layer network, written out line by line as in the original
        assignment. It contains **bugs from the catalogue** (more than one). Your job:

        1. run the cell, then run the check below it and read the report: which blocks are wrong?
        2. find the lines that compute those blocks, and everything they depend on;
        3. copy the function into the exercise cell, fix it there, and re-check until it passes.

        Tip: fix one thing at a time and re-run the check. The report changes as you go, and one bug can
        hide another: a block may only show up as wrong once an earlier mistake is gone.
        """),
        code(buggy_source),
        code("""
        buggy_report = check_backward(backward_propagation_buggy)
        print(buggy_report)
        """),
        code("""
        plot_report(buggy_report)
        """),
        md("""
        ### Exercise 2: `backward_propagation_fixed`

        Write the fixed backward pass here (start from a copy of the body of `backward_propagation_buggy`).
        The last line of the cell re-checks it.
        """),
        exercise(_fixed_exercise(fixed_body), grade_id="backward_propagation_fixed"),
        tests("""
        bug_hunt_test(backward_propagation_fixed)
        ### BEGIN HIDDEN TESTS
        from course_utils.judges import COURSE_SEED, judge
        _v = judge("backward_propagation_fixed", backward_propagation_fixed, cases="hidden", rng=COURSE_SEED)
        assert _v.passed, _v.message
        ### END HIDDEN TESTS
        """, grade_id="backward_propagation_fixed_tests", points=2),
        md(r"""
        ## 5. False alarms at a ReLU kink

        A gradient check can also accuse a **correct** backward pass. ReLU has a kink at 0: its slope
        jumps from 0 to 1. If some pre-activation $Z$ is closer to 0 than the step $\varepsilon$, then
        $J(\theta + \varepsilon)$ and $J(\theta - \varepsilon)$ sit on different sides of the kink and the
        centered difference averages two different slopes. Backpropagation uses the slope of the side the
        point is on, so the two disagree, although nothing is wrong.

        To see it, move the first bias so that the first unit of layer 1 (row 0 of $Z^{[1]}$) sits
        $2 \times 10^{-6}$ above its kink for the first example. The checker's default step here is about
        $6 \times 10^{-6}$ (about $1.3 \times 10^{-5}$ for `b1[0, 0]`, whose value is above 1, since the step
        grows with the parameter): it crosses.
        """),
        code("""
        _, cache = forward_propagation_n(X, Y, parameters)
        near_kink = {name: value.copy() for name, value in parameters.items()}
        Z1 = cache[0]  # the cache is (Z1, A1, W1, b1, Z2, ...)
        near_kink["b1"][0, 0] -= Z1[0, 0] - 2e-6  # Z1[0, 0] is now 2e-6

        kink_report = check_backward(correct, X, Y, near_kink)
        Z1_now = forward_propagation_n(X, Y, near_kink)[1][0][0, 0]
        b1_00 = kink_report.layout.slices()["b1"].start  # position of b1[0, 0] in the flat vector
        print(f"Z1[0, 0] = {Z1_now:.1e}; the checker's step: {np.median(kink_report.epsilon):.1e} for most entries, "
              f"{kink_report.epsilon[b1_00]:.1e} for b1[0, 0]")
        print()
        print(kink_report)
        """),
        md(r"""
        The global relative difference is about $5 \times 10^{-2}$: a check that only looks at that
        number would call this correct code broken. The report knows better. For every entry it also has
        the two one-sided differences, $(J(\theta + \varepsilon) - J(\theta))/\varepsilon$ and
        $(J(\theta) - J(\theta - \varepsilon))/\varepsilon$. At a kink they disagree with each other, and
        the analytic gradient matches one of them exactly: those entries are flagged **kink**, marked
        "K" in the heatmap, and kept out of the verdict.
        """),
        code("""
        print(f"verdict: {kink_report.verdict}; kinks at: {', '.join(k.label for k in kink_report.kinks)}")
        plot_report(kink_report)
        """),
        md(r"""
        Two ways to clear a false alarm, both of which a real bug survives:

        * a **smaller step** that no longer reaches the kink ($\varepsilon = 10^{-7} < 2 \times 10^{-6}$);
        * **another point**: the kink is a property of this exact $\theta$; move a little and it is gone.
        """),
        code("""
        smaller_step = check_backward(correct, X, Y, near_kink, epsilon=1e-7)
        moved = {name: value + 1e-3 for name, value in near_kink.items()}
        another_point = check_backward(correct, X, Y, moved)
        for label, r in [("default step at the kink", kink_report), ("epsilon = 1e-7", smaller_step),
                         ("another point", another_point)]:
            print(f"{label:<26} {r.verdict:<7} kinks: {len(r.kinks)}")
        print(f"a real bug at the kink's point: {check_backward(inject('db_before_relu'), X, Y, near_kink).verdict}")
        """),
        md("""
        ## 6. Instructor mode (optional)

        For live demos: pick a bug from the dropdown (or add several in the list to combine them); the
        report, the explanation and the heatmap redraw in place. Everything uses large fonts and the
        colour-blind-safe viridis map, and nothing depends on colour alone (frames, hatching, "WRONG").
        """),
        code("""
        # NBVAL_IGNORE_OUTPUT
        from course_utils.widgets import bug_hunt_widget

        bug_hunt_widget()
        """),
        md(r"""
        ## What to remember

        * A good gradient check says **where**: one relative difference per block, wrong blocks ranked
          first, and the worst entries by name. The wrong blocks point at the wrong lines.
        * Where a bug starts decides what it breaks: output bugs break everything, ReLU bugs break the
          layers below, one-formula bugs break one kind of block.
        * A scale bug $dW \leftarrow k\,dW$ gives exactly $|k-1|/(k+1)$; read $k$ back as
          $(1 + r)/(1 - r)$, or its inverse when the analytic norm is the smaller one.
        * L2 bugs only show when the check uses the **regularized** cost.
        * A step that crosses a ReLU kink makes a correct gradient look wrong. The one-sided differences
          expose it; a smaller step or another point clears it, a real bug survives both.
        """),
    ])
