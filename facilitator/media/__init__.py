"""Everything aiortc: the SFU that forwards encoded media, and the synthetic participant."""
