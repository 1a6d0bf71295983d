"""test_transformer_parity.py — sa_transformer_block against
torch.nn.TransformerEncoderLayer(norm_first=True, batch_first=True, dropout=0),
and two stacked blocks named "layers.0", "layers.1" against
nn.TransformerEncoder(num_layers=2, enable_nested_tensor=False): outputs and
the gradients w.r.t. the input and every parameter (objective sum(out * G) for
a random G), relu and gelu.

Parameters are copied by torch's state_dict key: seqattn's "<block name>." +
key must name exactly torch's parameter set (no seqattn-only parameter keeping
its own initial value, no torch-only one left out). torch's zero biases and unit
norm weights are randomised first, so every parameter's use is tested.

Odd sizes: E = 33, 3 heads, ff_dim = 37, B = 3, T = 17. Masks: causal, as the
float src_mask of nn.Transformer.generate_square_subsequent_mask(T) or a bool
triu mask; key padding from lengths as src_key_padding_mask. Every row keeps
key 0 visible (torch gives NaN for a row that sees no key). Padded query rows
are computed by both (only keys are masked), so they are compared too.

torch runs in train() mode with grad enabled, so its math path runs, not the
fused fast path (which is inference-only): torch's fused entry points are
replaced by functions that raise, so a fast path taken would fail the case.
Exit code 0 when every case passes, 1 otherwise.
"""
from parity_check import VALUE, Report, require_torch

torch = require_torch()
import ctypes  # noqa: E402

import sa_ctypes as sa  # noqa: E402
from torch_bridge import build, np32, valid_mask  # noqa: E402

B, T, E, HEADS, FF = 3, 17, 33, 3, 37
LENGTHS = [17, 9, 1]  # a full sample, a partial one, a single valid step
ACTS = {"relu": sa.SA_ACT_RELU, "gelu": sa.SA_ACT_GELU}


def _no_fast_path(*args, **kw):
    raise AssertionError("torch took the fused transformer fast path: the reference is not the math path")


for _fn in ("_transformer_encoder_layer_fwd", "_nested_tensor_from_mask", "_native_multi_head_attention"):
    if hasattr(torch, _fn):
        setattr(torch, _fn, _no_fast_path)


def randomise(module, seed):
    """Moves every parameter off torch's init (zero biases, unit norm weights)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in module.named_parameters():
            if n.endswith("bias"):
                p.copy_(torch.rand(p.shape, generator=g) - 0.5)
            elif n.startswith("norm") or ".norm" in n:
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            else:
                p.mul_(1.0 + 0.2 * (torch.rand(p.shape, generator=g) - 0.5))


def src_mask(kind):
    """torch's src_mask for a causal block: 'float' (-inf above the diagonal) or 'bool' (True = hidden)."""
    if kind == "float":
        return torch.nn.Transformer.generate_square_subsequent_mask(T)
    if kind == "bool":
        return torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    return None


def copy_state(case, m, prefix, module):
    """Copies module.state_dict() into the model, key k as seqattn's prefix + k;
    the model's parameter names must be exactly those. @return {seqattn name: torch parameter}."""
    state = module.state_dict()
    params = dict(module.named_parameters())
    case.expect("state=params", set(state) == set(params),
                f"state_dict has non-parameters {sorted(set(state) - set(params))}")
    want = {prefix + k for k in state}
    got = set(m.param_names())
    case.expect("names", got == want, f"seqattn-only {sorted(got - want)}, torch-only {sorted(want - got)}")
    for k, t in state.items():
        val, _ = m.param(prefix + k)
        if val.shape != tuple(t.shape):
            raise AssertionError(f"{prefix + k}: seqattn shape {val.shape}, torch {tuple(t.shape)}")
        val[...] = t.numpy()
    return {prefix + k: p for k, p in params.items()}


def run_case(case, ref, prefix, names, act, mask_kind, lengths, seed, eps=1e-5):
    """ref: the torch module, its state_dict key k is seqattn's prefix + k;
    names: the seqattn blocks, stacked in order."""
    causal = mask_kind is not None
    torch.manual_seed(seed)
    randomise(ref, seed + 1)
    ref.train()  # the math path; dropout is 0
    g = sa.Graph()
    xn = g.input("x", E)
    y = xn
    for name in names:
        y = g.transformer_block(y, FF, HEADS, causal, ACTS[act], 0.0, eps, name)
    with build(g) as m:
        named = copy_state(case, m, prefix, ref)
        x = torch.randn(B, T, E, requires_grad=True)
        kpm = None if lengths is None else ~valid_mask(lengths, B, T)
        mask = src_mask(mask_kind)
        if isinstance(ref, torch.nn.TransformerEncoder):
            out = ref(x, mask=mask, src_key_padding_mask=kpm)
        else:
            out = ref(x, src_mask=mask, src_key_padding_mask=kpm)
        G = torch.randn(out.shape)
        (out * G).sum().backward()

        m.set_input(xn, np32(x), lengths)
        m.forward(train=True)
        m.backward_from({y: np32(G)})
        case.close("out", m.output(y), np32(out), VALUE)
        case.close("dx", m.grad(xn), np32(x.grad))
        case.close_all("dW", {k: (m.param(k)[1].copy(), p.grad.numpy()) for k, p in named.items()})
        m.forward(train=False)  # dropout 0: inference gives the training forward's values
        case.close("out(infer)", m.output(y), np32(out), VALUE)


def layer(act, eps=1e-5):
    return torch.nn.TransformerEncoderLayer(d_model=E, nhead=HEADS, dim_feedforward=FF, dropout=0.0,
                                            activation=act, layer_norm_eps=eps, batch_first=True,
                                            norm_first=True)


def layer_case(case, act, mask_kind, lengths, seed, eps=1e-5):
    """One block named 'blk': torch key k is seqattn's 'blk.' + k."""
    run_case(case, layer(act, eps), "blk.", ["blk"], act, mask_kind, lengths, seed, eps)


def stack_case(case, act, mask_kind, lengths, seed):
    """Two blocks named 'layers.0', 'layers.1': TransformerEncoder's own keys
    ('layers.0.self_attn.in_proj_weight', ...) are the seqattn names."""
    ref = torch.nn.TransformerEncoder(layer(act), num_layers=2, enable_nested_tensor=False)
    run_case(case, ref, "", ["layers.0", "layers.1"], act, mask_kind, lengths, seed)


def desc_case(case):
    """The ctypes layout: the library's defaults read back through SaTransformerDesc."""
    d = sa.lib.sa_transformer_desc_default()
    case.expect("defaults", (d.struct_size, d.num_heads, d.ff_dim, d.causal, d.activation, d.name) ==
                (ctypes.sizeof(sa.SaTransformerDesc), 1, 0, 0, sa.SA_ACT_RELU, None)
                and d.dropout == 0.0 and abs(d.norm_eps - 1e-5) < 1e-12,
                f"defaults read as {[(f, getattr(d, f)) for f, _ in d._fields_]}")


def main():
    r = Report()
    r.run("desc layout", desc_case)
    seed = 100
    for act in ACTS:
        for mask_kind, lens in ((None, None), ("float", None), (None, LENGTHS), ("bool", LENGTHS),
                                ("float", LENGTHS)):
            seed += 1
            r.run(f"layer {act} E={E} H={HEADS} F={FF} T={T} mask={mask_kind} lengths={lens}", layer_case, act,
                  mask_kind, lens, seed)
    r.run(f"layer gelu norm_eps=0.1 mask=bool lengths={LENGTHS}", layer_case, "gelu", "bool", LENGTHS, 99, 0.1)
    for act in ACTS:
        for mask_kind, lens in ((None, LENGTHS), ("float", LENGTHS)):
            seed += 1
            r.run(f"encoder x2 {act} mask={mask_kind} lengths={lens}", stack_case, act, mask_kind, lens, seed)
    r.exit()


if __name__ == "__main__":
    main()
