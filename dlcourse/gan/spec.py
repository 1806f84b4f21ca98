"""The numbers Problem 3 fixes (the homework's text, not anybody's answer): shared by the parts and the harness.

Students' files import them from here too, so the harness and a submission agree on the noise size
and the image shape without the harness ever importing a part.
"""

NOISE_DIM = 100  # z ~ N(0, I_100)
IMAGE_SHAPE = (1, 28, 28)  # FashionMNIST, grayscale, scaled to [-1, 1]
LEAKY_SLOPE = 0.3  # Keras's LeakyReLU default; PyTorch's is 0.01
DROPOUT = 0.3
LEARNING_RATE = 1e-4  # Adam, both networks
BATCH_SIZES = (16, 32, 64)
EPOCHS = 50
SNAPSHOT_EPOCHS = (10, 30, 50)
