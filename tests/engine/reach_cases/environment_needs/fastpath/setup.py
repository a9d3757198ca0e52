from distutils.core import setup

from Cython.Build import cythonize

setup(name="fastpath", ext_modules=cythonize("core.pyx"))
