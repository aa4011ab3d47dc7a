"""Dataset examples: the images of a folder (or the bundled photographs) that excite each unit most.

:mod:`.sources` lists and decodes items, :mod:`.scoring` runs a batch through the network,
:mod:`.topk` keeps each unit's top-k and histogram, :mod:`.chunks` scores one chunk of items
(the unit of work an engine runs and the state records).
"""
