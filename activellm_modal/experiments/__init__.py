"""Experiments: the paper's SST-2 reproduction and a strategy benchmark.

==================  ==================================================================
module              what it holds
==================  ==================================================================
``grid``            parsing ``1,2,3``-style lists; the job records of both experiments
``store``           ``results.csv`` that grows row by row and tells which jobs are done
``runner``          runs jobs in this process, with joblib, or on a Dask cluster
``metrics``         accuracy, macro F1, label balance, area under the learning curve
``plots``           PNG figures (matplotlib, Agg backend: no display needed)
``paper``           the paper's logged SST-2 figures and the recorded LLM arms
``reproduce``       ``activellm-modal reproduce``: 32 labels, BERT-style fine-tuning
``embedding_table`` embeddings computed once per text, reused by every classifier fit
``kmeans``          embedding k-means, a cold-start baseline that needs no LLM
``strategies``      the benchmark's arms (cold start + later rounds)
``benchmark``       ``activellm-modal benchmark``: learning curves over rounds
==================  ==================================================================
"""
