"""Writes fixtures/optimizers.json: TF1 optimizer trajectories computed by PyTorch.

For every optimizer configuration that src/learning/optimizers/optimizers_test.ts
checks, this takes two parameters of different shapes with fixed random initial
values, feeds a fixed sequence of random gradients for STEPS steps and records the
parameters and the TensorFlow-named slots after each step. Everything is computed
in float64 from float32-representable inputs, so the fixture is the exact answer
the float32 ONNX graph approximates.

Which reference computes each case (the "reference" field says it per case):
  * GradientDescent, Momentum (plain and Nesterov) and Adagrad: torch.optim itself.
    torch's SGD keeps TF's accumulator (buf = m * buf + g, learning rate outside,
    Nesterov step g + m * buf), and its Adagrad with eps=0, lr_decay=0 is TF1's.
  * Adam: torch.optim.Adam with its epsilon reset before step t to
    epsilon / sqrt(1 - beta2^t). torch adds epsilon to the bias-corrected sqrt(v),
    TF1 to the raw sqrt(v); that rescaling makes the two updates identical. A plain
    tensor-arithmetic version of TF's formula cross-checks it.
  * RMSProp: TF's formula in plain torch tensor arithmetic. torch's RMSprop starts
    the mean square at zeros (TF: ones), adds epsilon outside the square root (TF:
    inside) and keeps the learning rate out of the momentum buffer (TF: in). The
    formula is cross-checked against torch.optim.RMSprop with epsilon 0 and its
    state seeded with TF's ones, where the two must agree.
  * Adadelta: torch.optim.Adadelta, whose update is TF's (epsilon under both roots,
    learning rate applied to the unit-corrected step).
  * FTRL: TF's ApplyFtrl formula (without L2 shrinkage) in plain torch arithmetic;
    torch has no FTRL. With l1 = l2 = 0 and learning-rate power -0.5 it reduces to
    var = -linear * lr / sqrt(accum), which is checked as well.

Usage: /usr/bin/python3 scripts/make_optimizer_fixtures.py   (needs torch; 1.13 used)
"""
import json
import math
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "optimizers.json")
STEPS = 4
SHAPES = {"layer/weights": [3, 4], "layer/biases": [5]}

# Each case: (name, optimizer factory in slimtrain, its options as the test passes them).
CASES = [
    ("gradientDescent", "gradientDescent", {"learningRate": 0.1}),
    ("momentum", "momentum", {"learningRate": 0.05, "momentum": 0.9}),
    ("momentum_nesterov", "momentum", {"learningRate": 0.05, "momentum": 0.8, "useNesterov": True}),
    ("adam_defaults", "adam", {}),
    ("adam_large_epsilon", "adam", {"learningRate": 0.1, "beta1": 0.8, "beta2": 0.95, "epsilon": 0.1}),
    ("rmsprop", "rmsprop", {"learningRate": 0.1}),
    ("rmsprop_momentum", "rmsprop", {"learningRate": 0.05, "decay": 0.95, "momentum": 0.5, "epsilon": 0.01}),
    ("rmsprop_centered_momentum", "rmsprop",
     {"learningRate": 0.05, "decay": 0.8, "momentum": 0.7, "epsilon": 1e-3, "centered": True}),
    ("adagrad", "adagrad", {"learningRate": 0.1}),
    ("adagrad_initial_accumulator", "adagrad", {"learningRate": 0.2, "initialAccumulatorValue": 0.5}),
    ("adadelta_slim_epsilon", "adadelta", {"learningRate": 0.5, "rho": 0.9, "epsilon": 1.0}),
    ("adadelta_small_epsilon", "adadelta", {"learningRate": 1.0, "epsilon": 1e-6}),
    ("ftrl", "ftrl", {"learningRate": 0.1}),
    ("ftrl_l1_l2", "ftrl", {"learningRate": 0.2, "learningRatePower": -0.7, "initialAccumulatorValue": 0.3,
                            "l1RegularizationStrength": 0.05, "l2RegularizationStrength": 0.1}),
]


def f32_uniform(gen, shape, lo, hi):
    """Uniform draws rounded to float32, then widened: both sides start from identical values."""
    x = torch.rand(shape, generator=gen, dtype=torch.float32) * (hi - lo) + lo
    return x.to(torch.float64)


def flat(t):
    return [float(x) for x in t.reshape(-1).tolist()]


def make_inputs(seed):
    gen = torch.Generator().manual_seed(seed)
    params = {n: f32_uniform(gen, s, -1, 1) for n, s in SHAPES.items()}
    # Kept away from zero so no relative comparison hinges on a cancellation.
    grads = [{n: f32_uniform(gen, s, 0.1, 1) * torch.where(torch.rand(s, generator=gen) < 0.5, -1.0, 1.0).double()
              for n, s in SHAPES.items()} for _ in range(STEPS)]
    return params, grads


def run_torch(opt_cls, kwargs, params, grads, slot_names, before_step=None, init_state=None):
    """Runs torch.optim, returning per step {name: values} for parameters and slots."""
    tensors = {n: p.clone().requires_grad_(True) for n, p in params.items()}
    opt = opt_cls(list(tensors.values()), **kwargs)
    if init_state:
        for p in tensors.values():
            opt.state[p].update(init_state(p))
    trajectory = []
    for t, g in enumerate(grads, start=1):
        for n, p in tensors.items():
            p.grad = g[n].clone()
        if before_step:
            before_step(opt, t)
        opt.step()
        record = {}
        for n, p in tensors.items():
            record[n] = p.detach().clone()
            for suffix, key, scale in slot_names:
                record[f"{n}/{suffix}"] = opt.state[p][key].detach().clone() * scale
        trajectory.append(record)
    return trajectory


def tf_adam(params, grads, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    p = {n: v.clone() for n, v in params.items()}
    m = {n: torch.zeros_like(v) for n, v in params.items()}
    v = {n: torch.zeros_like(x) for n, x in params.items()}
    b1p, b2p = beta1, beta2
    out = []
    for g in grads:
        lr_t = lr * math.sqrt(1 - b2p) / (1 - b1p)
        record = {}
        for n in p:
            m[n] = beta1 * m[n] + (1 - beta1) * g[n]
            v[n] = beta2 * v[n] + (1 - beta2) * g[n] ** 2
            p[n] = p[n] - lr_t * m[n] / (v[n].sqrt() + epsilon)
            record.update({n: p[n].clone(), f"{n}/Adam": m[n].clone(), f"{n}/Adam_1": v[n].clone()})
        b1p, b2p = b1p * beta1, b2p * beta2
        record.update({"beta1_power": torch.tensor(b1p, dtype=torch.float64),
                       "beta2_power": torch.tensor(b2p, dtype=torch.float64)})
        out.append(record)
    return out


def tf_rmsprop(params, grads, learningRate, decay=0.9, momentum=0.0, epsilon=1e-10, centered=False):
    p = {n: v.clone() for n, v in params.items()}
    ms = {n: torch.ones_like(v) for n, v in params.items()}
    mg = {n: torch.zeros_like(v) for n, v in params.items()}
    mom = {n: torch.zeros_like(v) for n, v in params.items()}
    mom_slot = "RMSProp_2" if centered else "RMSProp_1"
    out = []
    for g in grads:
        record = {}
        for n in p:
            ms[n] = decay * ms[n] + (1 - decay) * g[n] ** 2
            denom = ms[n]
            if centered:
                mg[n] = decay * mg[n] + (1 - decay) * g[n]
                denom = ms[n] - mg[n] ** 2
                record[f"{n}/RMSProp_1"] = mg[n].clone()
            mom[n] = momentum * mom[n] + learningRate * g[n] / (denom + epsilon).sqrt()
            p[n] = p[n] - mom[n]
            record.update({n: p[n].clone(), f"{n}/RMSProp": ms[n].clone(), f"{n}/{mom_slot}": mom[n].clone()})
        out.append(record)
    return out


def tf_ftrl(params, grads, learningRate, learningRatePower=-0.5, initialAccumulatorValue=0.1,
            l1RegularizationStrength=0.0, l2RegularizationStrength=0.0):
    lr, p_, l1, l2 = learningRate, learningRatePower, l1RegularizationStrength, l2RegularizationStrength
    p = {n: v.clone() for n, v in params.items()}
    accum = {n: torch.full_like(v, initialAccumulatorValue) for n, v in params.items()}
    linear = {n: torch.zeros_like(v) for n, v in params.items()}
    out = []
    for g in grads:
        record = {}
        for n in p:
            new_accum = accum[n] + g[n] ** 2
            sigma = (new_accum ** -p_ - accum[n] ** -p_) / lr
            linear[n] = linear[n] + g[n] - sigma * p[n]
            quadratic = new_accum ** -p_ / lr + 2 * l2
            shrunk = (torch.sign(linear[n]) * l1 - linear[n]) / quadratic
            p[n] = torch.where(linear[n].abs() > l1, shrunk, torch.zeros_like(shrunk))
            accum[n] = new_accum
            record.update({n: p[n].clone(), f"{n}/Ftrl": accum[n].clone(), f"{n}/Ftrl_1": linear[n].clone()})
        out.append(record)
    return out


def assert_same(name, a, b, tol=1e-12, keys=None):
    for step, (ra, rb) in enumerate(zip(a, b)):
        for k in keys or ra:
            if not torch.allclose(ra[k], rb[k], rtol=tol, atol=tol):
                raise AssertionError(f"{name}: cross-check failed for {k} at step {step + 1}")


def reference(kind, options, params, grads):
    """Returns (trajectory, description of the reference)."""
    lr = options.get("learningRate", 0.001)
    if kind == "gradientDescent":
        return run_torch(torch.optim.SGD, {"lr": lr}, params, grads, []), "torch.optim.SGD"
    if kind == "momentum":
        kwargs = {"lr": lr, "momentum": options["momentum"], "nesterov": options.get("useNesterov", False)}
        traj = run_torch(torch.optim.SGD, kwargs, params, grads, [("Momentum", "momentum_buffer", 1)])
        return traj, f"torch.optim.SGD(momentum, nesterov={kwargs['nesterov']}): same formula as TF"
    if kind == "adagrad":
        kwargs = {"lr": lr, "initial_accumulator_value": options.get("initialAccumulatorValue", 0.1), "eps": 0}
        traj = run_torch(torch.optim.Adagrad, kwargs, params, grads, [("Adagrad", "sum", 1)])
        return traj, "torch.optim.Adagrad(eps=0, lr_decay=0): TF1's formula"
    if kind == "adam":
        b1, b2, eps = options.get("beta1", 0.9), options.get("beta2", 0.999), options.get("epsilon", 1e-8)

        def tf_epsilon(opt, t):
            opt.param_groups[0]["eps"] = eps / math.sqrt(1 - b2 ** t)

        traj = run_torch(torch.optim.Adam, {"lr": lr, "betas": (b1, b2), "eps": eps}, params, grads,
                         [("Adam", "exp_avg", 1), ("Adam_1", "exp_avg_sq", 1)], before_step=tf_epsilon)
        manual = tf_adam(params, grads, lr, b1, b2, eps)
        assert_same(f"adam {options}", manual, traj, keys=list(traj[0]))
        for record, m in zip(traj, manual):
            record["beta1_power"], record["beta2_power"] = m["beta1_power"], m["beta2_power"]
        return traj, "torch.optim.Adam with eps rescaled each step to TF1's placement (cross-checked by hand)"
    if kind == "rmsprop":
        full = {"learningRate": lr, **{k: v for k, v in options.items() if k != "learningRate"}}
        check_rmsprop_against_torch(params, grads, full)
        return tf_rmsprop(params, grads, **full), "TF formula in torch arithmetic (torch.optim.RMSprop differs)"
    if kind == "adadelta":
        kwargs = {"lr": lr, "rho": options.get("rho", 0.95), "eps": options.get("epsilon", 1e-8)}
        traj = run_torch(torch.optim.Adadelta, kwargs, params, grads,
                         [("Adadelta", "square_avg", 1), ("Adadelta_1", "acc_delta", 1)])
        return traj, "torch.optim.Adadelta: same formula as TF"
    if kind == "ftrl":
        full = {"learningRate": lr, **{k: v for k, v in options.items() if k != "learningRate"}}
        traj = tf_ftrl(params, grads, **full)
        if len(options) == 1:
            # Plain FTRL is adagrad-like: var = -lr * linear / sqrt(accum).
            for r in traj:
                for n in params:
                    if not torch.allclose(r[n], -lr * r[f"{n}/Ftrl_1"] / r[f"{n}/Ftrl"].sqrt(), rtol=1e-12, atol=1e-12):
                        raise AssertionError("ftrl closed form cross-check failed")
        return traj, "TF's ApplyFtrl formula in float64 torch (torch has no FTRL)"
    raise ValueError(kind)


def check_rmsprop_against_torch(params, grads, options):
    """With epsilon 0 and TF's ones as the starting mean square, torch.optim.RMSprop is TF's RMSProp."""
    decay, momentum, centered = options.get("decay", 0.9), options.get("momentum", 0.0), options.get("centered", False)
    lr = options["learningRate"]
    manual = tf_rmsprop(params, grads, lr, decay, momentum, 0.0, centered)

    def tf_state(p):
        state = {"step": 0, "square_avg": torch.ones_like(p.detach())}
        if momentum > 0:
            state["momentum_buffer"] = torch.zeros_like(p.detach())
        if centered:
            state["grad_avg"] = torch.zeros_like(p.detach())
        return state

    slots = [("RMSProp", "square_avg", 1)]
    if centered:
        slots.append(("RMSProp_1", "grad_avg", 1))
    if momentum > 0:
        slots.append(("RMSProp_2" if centered else "RMSProp_1", "momentum_buffer", lr))
    kwargs = {"lr": lr, "alpha": decay, "eps": 0, "momentum": momentum, "centered": centered}
    traj = run_torch(torch.optim.RMSprop, kwargs, params, grads, slots, init_state=tf_state)
    assert_same(f"rmsprop {options}", manual, traj, keys=list(traj[0]))


def main():
    cases = []
    for index, (name, kind, options) in enumerate(CASES):
        params, grads = make_inputs(1000 + index)
        trajectory, ref = reference(kind, options, params, grads)
        cases.append({
            "name": name,
            "optimizer": kind,
            "options": options,
            "reference": ref,
            "shapes": SHAPES,
            "initial": {n: flat(v) for n, v in params.items()},
            "grads": [{n: flat(v) for n, v in g.items()} for g in grads],
            "steps": [{k: flat(v) for k, v in sorted(r.items())} for r in trajectory],
        })
    doc = {
        "generator": "scripts/make_optimizer_fixtures.py",
        "torch": torch.__version__,
        "dtype": "float64 computation from float32 inputs",
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
