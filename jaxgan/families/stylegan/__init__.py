"""StyleGAN (Karras et al. 2019) and StyleGAN2 (Karras et al. 2020).

The family's networks live in `networks` (mapping, synthesis in both styles,
discriminators, equalised learning-rate layers, resampling filters); its
interface to the training loop (state, step, sampling, config) comes later.
"""
