def same_padding(kernel_size):
    return kernel_size // 2
