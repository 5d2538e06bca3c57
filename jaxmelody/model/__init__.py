"""The network and its formulations: the flax module and its folded forms.

Layer 2 of jaxmelody: imports the base modules and ``frontend`` only.

Modules:
  network: ``MSFCN``, the multi-scale fully convolutional network (DenseASPP)
    as a flax module, its configs, initialisation and summary; the reference
    every other formulation is tested against.
  released_weights: ``import_msfcn_checkpoint``, the paper authors' released
    PyTorch weights as flax variables, without PyTorch.
  bn_fold: a BatchNorm folded into the convolution after it (the algebra).
  conv_kernels: a 3x3 (dilated) SAME convolution whose kernel gradient
    XLA:CPU runs fast (training).
  folded_train: the training forward with every BatchNorm folded.
  folded_forward: the inference forward with every BatchNorm folded (running
    averages), exact for padded clips: every inference with running averages
    runs it (the table of which formulation runs where:
    docs/architecture.md).

Conventions:
  model input: float32 [batch, 256, T, 3] (``network.cfp_to_input`` moves the
    CFP's channel axis last).
  logits: float32 [batch, T, 257], class 0 = no melody.
  variables: flax dicts {'params': ..., 'batch_stats': ...}.
"""
