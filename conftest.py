"""Settings of the whole test session, applied before any test module runs.

oneDNN picks its convolution and matrix kernels by the CPU's instruction set, and its AVX-512
kernels sum in another order than its AVX2 ones. The lucent reference renders
(``parity/lucent/cases``) were made by the real lucent with oneDNN's AVX2 kernels, and float32
Adam renders amplify a last-bit difference of the first gradient (up to 5e-2 after 8 steps on an
AVX-512 machine, while every case is bit-identical with AVX2 kernels). So the tests run oneDNN at
most at AVX2, the instruction set of the references, on every x86-64 machine; the variable is read
when oneDNN makes its first kernel, so setting it here, before any test, is enough. A value set
by the caller wins.
"""

import os

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
