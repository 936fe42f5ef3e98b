"""Contractions that apply a weight to polynomial or spline features without building them.

* :func:`power_contract` computes ``M @ u^{(x) k}`` -- a weight acting on the ordered tensor power of u
  (the Taylor layout: index ``j_1 m^{k-1} + ... + j_k``, j_1 most significant) -- by contracting one
  factor of u at a time. For k = 2 this is the quadratic form ``u^T M_r u`` of every row r.
* :func:`bspline_linear` computes ``B(x) @ W.T`` for B-spline features B(x) in one matmul, and in
  backward recomputes the basis (and its derivative) from x instead of keeping it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .spline import uniform_bspline

__all__ = ["power_contract", "power_contract_t", "bspline_linear", "taylor_linear", "taylor_linear_t"]


def power_contract(M: Tensor, u: Tensor, degree: int) -> Tensor:
    """``u^{(x) degree} @ M.T`` without building the tensor power.

    Args:
        M: weight of shape (rows, m**degree) in the ordered Taylor layout.
        u: base vectors of shape (..., m).
        degree: k >= 1 (k = 0 gives the columns' sum with the empty product 1).

    Returns:
        (..., rows).

    Cost: one GEMM of (batch x m) by (m x rows*m^{k-1}) plus k-1 batched contractions; the largest
    temporary is (batch, rows * m^{k-1}) instead of the (batch, m^k) features.
    """
    rows = M.shape[0]
    lead = u.shape[:-1]
    m = u.shape[-1]
    if degree == 0:
        return M[:, 0].expand(*lead, rows)
    flat = u.reshape(-1, m)
    b = flat.shape[0]
    # contract the last (least significant) factor: T[b, r, j_1..j_{k-1}]
    T = flat @ M.reshape(rows * m ** (degree - 1), m).T
    for level in range(degree - 1, 0, -1):
        # T: (b, rows * m^{level-1}, m) contracted with u on its last axis
        T = torch.bmm(T.reshape(b, rows * m ** (level - 1), m), flat.unsqueeze(-1)).squeeze(-1)
    return T.reshape(*lead, rows)


def power_contract_t(Mt: Tensor, u: Tensor, degree: int) -> Tensor:
    """``u^{(x) degree} @ Mt`` for a weight stored transposed, Mt of shape (m**degree, rows).

    Contracts the *most* significant factor first through contiguous views of Mt (no copy of the
    weight): ``Mt.view(m, m^{k-1} rows)`` is one GEMM with u, then each further factor is a batched
    vector-matrix product. Used by low-rank reconciliations, whose B (D x r) holds W's rows as columns.
    """
    rows = Mt.shape[-1]
    lead = u.shape[:-1]
    m = u.shape[-1]
    if degree == 0:
        return Mt[0].expand(*lead, rows)
    flat = u.reshape(-1, m)
    b = flat.shape[0]
    T = flat @ Mt.reshape(m, m ** (degree - 1) * rows)  # (b, m^{k-1} rows)
    for level in range(degree - 1, 0, -1):
        T = torch.bmm(flat.unsqueeze(1), T.reshape(b, m, m ** (level - 1) * rows)).squeeze(1)
    return T.reshape(*lead, rows)


class _BSplineLinear(torch.autograd.Function):
    @staticmethod
    def forward(x: Tensor, grid: tuple[float | Tensor, float | Tensor, int], degree: int, W: Tensor) -> Tensor:
        basis = uniform_bspline(x, *grid, degree)
        return basis.flatten(-2) @ W.T

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, grid, degree, W = inputs
        ctx.save_for_backward(x, W)
        ctx.grid = grid
        ctx.degree = degree

    @staticmethod
    def backward(ctx, grad):
        x, W = ctx.saved_tensors
        grad_x = grad_W = None
        if ctx.needs_input_grad[0]:
            basis, derivative = uniform_bspline(x, *ctx.grid, ctx.degree, derivative=True)
            K = basis.shape[-1]
            # dL/dx_j = sum_r grad_r sum_k W[r, j*K + k] B'_k(x_j)
            gb = (grad @ W).reshape(*x.shape, K)
            grad_x = (gb * derivative).sum(-1)
        else:
            basis = uniform_bspline(x, *ctx.grid, ctx.degree)
        if ctx.needs_input_grad[3]:
            flat = basis.flatten(-2).reshape(-1, W.shape[1])
            grad_W = grad.reshape(-1, W.shape[0]).T @ flat
        return grad_x, None, None, grad_W


def _follow_autocast(apply, *args):
    """Run a custom autograd Function as autocast would run a matmul: inputs in the autocast dtype.

    Under ``torch.autocast`` the functions' GEMMs would otherwise mix the autocast dtype (of inputs
    produced by autocast regions) with float32 weights, in forward or in backward. Here every floating
    tensor argument is cast to the autocast dtype and the Function runs with autocast off, so forward
    and backward see one dtype; the gradients flow back through the casts in the parameters' dtype.
    """
    tensors = [a for a in args if isinstance(a, Tensor) and a.is_floating_point()]
    device = tensors[0].device.type if tensors else "cpu"
    if not tensors or not torch.is_autocast_enabled(device):
        return apply(*args)
    dtype = torch.get_autocast_dtype(device)
    cast = [a.to(dtype) if isinstance(a, Tensor) and a.is_floating_point() else a for a in args]
    with torch.autocast(device_type=device, enabled=False):
        return apply(*cast)


def bspline_linear(
    x: Tensor, grid: tuple[float | Tensor, float | Tensor, int], degree: int, W: Tensor, recompute: bool = True
) -> Tensor:
    """``bspline(x) @ W.T`` with a memory-saving backward, on a uniform grid.

    Forward builds the basis once (locally: :func:`uniform_bspline`) and does one matmul; the basis is
    not kept for backward, which recomputes it (and its analytic derivative) from x. Saved memory:
    the (batch, m, K) basis, i.e. batch * m * K numbers per layer.

    Args:
        x: (..., m).
        grid: (first knot, spacing, number of knots); per-input grids give (m,) tensors of first knots
            and spacings.
        degree: spline degree.
        W: (rows, m * K) in the feature-major layout (column j*K + k is basis k of feature j).
        recompute: False keeps the basis for backward (ordinary autograd): faster, more memory.
    """
    if not recompute:
        return uniform_bspline(x, *grid, degree).flatten(-2) @ W.T
    return _follow_autocast(_BSplineLinear.apply, x, tuple(grid), degree, W)


def _quadratic_block(W: Tensor, start: int, m: int) -> Tensor:
    """The (rows, m, m) view of W's columns [start, start + m^2) (no copy)."""
    return W[:, start : start + m * m].view(W.shape[0], m, m)


def _row_chunks(rows: int, m: int, b: int, budget: int = 1 << 20) -> list[tuple[int, int]]:
    """Row ranges whose (chunk, m, b) temporaries hold at most ``budget`` numbers."""
    step = max(1, budget // max(1, m * b))
    return [(r, min(rows, r + step)) for r in range(0, rows, step)]


class _TaylorLinear(torch.autograd.Function):
    """y = sum over blocks of W_block @ u^{(x) k} for blocks of degree 1 or 2 of one base u.

    Quadratic blocks are processed in chunks of rows (temporaries of at most 2^20 numbers), and
    backward writes every block's weight gradient straight into one (rows, D) buffer (no per-block
    gradients, no slicing-backward copies): beyond the gradient itself, memory stays O(2^20).
    """

    @staticmethod
    def forward(u: Tensor, W: Tensor, blocks: tuple[tuple[int, int], ...]) -> Tensor:
        rows = W.shape[0]
        m, b = u.shape[-1], u.shape[0]
        y = None
        for start, degree in blocks:
            if degree == 1:
                part = u @ W[:, start : start + m].T
            else:
                M = _quadratic_block(W, start, m)
                chunks = []
                for r0, r1 in _row_chunks(rows, m, b):
                    uT = u.T.unsqueeze(0).expand(r1 - r0, m, b)
                    T = torch.bmm(M[r0:r1], uT)  # (chunk, m, b): M_r u_b
                    chunks.append((T * uT).sum(1).T)
                part = chunks[0] if len(chunks) == 1 else torch.cat(chunks, dim=1)
            y = part if y is None else y + part
        return y

    @staticmethod
    def setup_context(ctx, inputs, output):
        u, W, blocks = inputs
        ctx.save_for_backward(u, W)
        ctx.blocks = blocks

    @staticmethod
    def backward(ctx, grad):
        u, W = ctx.saved_tensors
        rows, m, b = W.shape[0], u.shape[-1], u.shape[0]
        grad_u = grad_W = None
        # In eager mode each block's gradient is written into one buffer; under torch.compile
        # (which cannot trace out= into strided views) the blocks are concatenated instead.
        in_place = not torch.compiler.is_compiling()
        pieces: list[Tensor] = []
        if ctx.needs_input_grad[1]:
            grad_W = torch.empty_like(W) if in_place else None
            covered = 0
        for start, degree in ctx.blocks:
            if degree == 1:
                block = W[:, start : start + m]
                if ctx.needs_input_grad[0]:
                    contribution = grad @ block
                    grad_u = contribution if grad_u is None else grad_u + contribution
                if ctx.needs_input_grad[1]:
                    if in_place:
                        torch.mm(grad.T, u, out=grad_W[:, start : start + m])
                    else:
                        pieces.append(grad.T @ u)
                    covered += m
                continue
            M = _quadratic_block(W, start, m)
            chunk_grads = []
            for r0, r1 in _row_chunks(rows, m, b):
                uT = u.T.unsqueeze(0).expand(r1 - r0, m, b)
                gT = grad[:, r0:r1].T.unsqueeze(1)  # (chunk, 1, b)
                if ctx.needs_input_grad[0]:
                    Mc = M[r0:r1]
                    both = torch.bmm(Mc, uT) + torch.bmm(Mc.transpose(1, 2), uT)  # (chunk, m, b)
                    contribution = (both * gT).sum(0).T
                    grad_u = contribution if grad_u is None else grad_u + contribution
                if ctx.needs_input_grad[1]:
                    weighted = gT * uT  # (chunk, m, b): g_{b r} u_{b j1}
                    uu = u.unsqueeze(0).expand(r1 - r0, b, m)
                    if in_place:
                        torch.bmm(weighted, uu, out=_quadratic_block(grad_W, start, m)[r0:r1])
                    else:
                        chunk_grads.append(torch.bmm(weighted, uu).reshape(r1 - r0, m * m))
            if ctx.needs_input_grad[1]:
                if not in_place:
                    pieces.append(torch.cat(chunk_grads, dim=0))
                covered += m * m
        if ctx.needs_input_grad[1]:
            if covered != W.shape[1]:  # pragma: no cover - guarded by the caller
                raise RuntimeError("taylor_linear blocks do not cover W")
            if not in_place:
                grad_W = torch.cat(pieces, dim=1)
        return grad_u, grad_W, None


def _symmetric_outer_grad(u: Tensor, grad: Tensor, G: Tensor, out: Tensor) -> None:
    """out[j1, j2, c] = sum_b u[b, j1] u[b, j2] g[b, c], using its symmetry in (j1, j2).

    The rows of the first half of j1 come from one GEMM against all (j2, c); the second half's block
    against itself from a smaller GEMM; the rest is the transpose of the first half's off-diagonal
    block: 3/4 of the multiply-adds of the full u.T @ G.
    """
    m, rows = out.shape[0], out.shape[2]
    h = m // 2
    if h == 0:
        torch.mm(u.T, G, out=out.view(m, m * rows))
        return
    torch.mm(u[:, :h].T, G, out=out[:h].view(h, m * rows))
    G_low = (u[:, h:].unsqueeze(-1) * grad.unsqueeze(1)).reshape(u.shape[0], (m - h) * rows)
    torch.mm(u[:, h:].T, G_low, out=out[h:, h:].flatten(1))
    out[h:, :h].copy_(out[:h, h:].transpose(0, 1))


class _TaylorLinearT(torch.autograd.Function):
    """``[u, u (x) u][blocks] @ Mt`` for a weight stored transposed, Mt of shape (D, rows).

    Every block of Mt is used through contiguous views (no copies), and backward writes the weight
    gradient of all blocks into one (D, rows) buffer (no split/concatenate of per-block gradients).
    """

    @staticmethod
    def forward(u: Tensor, Mt: Tensor, blocks: tuple[tuple[int, int], ...]) -> Tensor:
        rows = Mt.shape[1]
        m, b = u.shape[-1], u.shape[0]
        y = None
        for start, degree in blocks:
            if degree == 1:
                part = u @ Mt[start : start + m]
            else:
                T = u @ Mt[start : start + m * m].view(m, m * rows)  # (b, m rows): sum_j1 u_j1 M[j1, j2, c]
                part = torch.bmm(u.unsqueeze(1), T.view(b, m, rows)).squeeze(1)
            y = part if y is None else y + part
        return y

    @staticmethod
    def setup_context(ctx, inputs, output):
        u, Mt, blocks = inputs
        ctx.save_for_backward(u, Mt)
        ctx.blocks = blocks

    @staticmethod
    def backward(ctx, grad):
        u, Mt = ctx.saved_tensors
        rows = Mt.shape[1]
        m, b = u.shape[-1], u.shape[0]
        in_place = not torch.compiler.is_compiling()
        grad_u = grad_M = None
        pieces: list[Tensor] = []
        if ctx.needs_input_grad[1] and in_place:
            grad_M = torch.empty_like(Mt)
        for start, degree in ctx.blocks:
            if degree == 1:
                block = Mt[start : start + m]
                if ctx.needs_input_grad[0]:
                    contribution = grad @ block.T
                    grad_u = contribution if grad_u is None else grad_u + contribution
                if ctx.needs_input_grad[1]:
                    if in_place:
                        torch.mm(u.T, grad, out=grad_M[start : start + m])
                    else:
                        pieces.append(u.T @ grad)
                continue
            view = Mt[start : start + m * m].view(m, m * rows)
            G = (u.unsqueeze(-1) * grad.unsqueeze(1)).reshape(b, m * rows)  # u_{b j2} g_{b c}
            if ctx.needs_input_grad[0]:
                T = (u @ view).view(b, m, rows)
                contribution = G @ view.T + torch.bmm(T, grad.unsqueeze(-1)).squeeze(-1)
                grad_u = contribution if grad_u is None else grad_u + contribution
            if ctx.needs_input_grad[1]:
                if in_place:
                    _symmetric_outer_grad(u, grad, G, grad_M[start : start + m * m].view(m, m, rows))
                else:
                    pieces.append((u.T @ G).reshape(m * m, rows))
        if ctx.needs_input_grad[1] and not in_place:
            grad_M = torch.cat(pieces, dim=0)
        return grad_u, grad_M, None


def taylor_linear_t(u: Tensor, Mt: Tensor, blocks: list[tuple[int, int]]) -> Tensor:
    """``[u, u (x) u][selected blocks] @ Mt`` for (start row, degree) blocks of degree 1 or 2 covering Mt.

    u is (b, m) (callers flatten leading dimensions); Mt is (D, rows), e.g. a low-rank factor B.
    """
    return _follow_autocast(_TaylorLinearT.apply, u, Mt, tuple(blocks))


def taylor_linear(u: Tensor, W: Tensor, blocks: list[tuple[int, int]]) -> Tensor:
    """``[u, u (x) u][selected blocks] @ W.T`` for (start column, degree) blocks of degree 1 or 2.

    The blocks must cover all of W's columns. u is (b, m) (callers flatten leading dimensions).
    """
    return _follow_autocast(_TaylorLinear.apply, u, W, tuple(blocks))
