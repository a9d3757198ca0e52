import layers
import buffers
