/**
 * Hugging Face tokenizers in pure Java: {@link dev.slimq.core.tokenizer.Tokenizer#load} reads a
 * {@code tokenizer.json} and encodes text to the ids the Rust {@code tokenizers} library produces, offline
 * and without native code, so that {@code eval}/{@code calibrate} can feed the forward pass and vocabulary
 * trimming can see which ids text uses.
 *
 * <p>Supported: WordPiece (BERT: BertNormalizer, BertPreTokenizer, TemplateProcessing/BertProcessing),
 * byte-level BPE (GPT-2/RoBERTa/Llama-3/Qwen2: ByteLevel with its regex, Split, NFC, ignore_merges) and
 * SentencePiece-style BPE (Llama-2/Mistral: Metaspace or Prepend+Replace, byte_fallback, fuse_unk) and
 * SentencePiece Unigram (XLM-R, T5, ALBERT, mBART: the Precompiled normalizer with its
 * precompiled_charsmap, Nmt, Metaspace with prepend_scheme, Viterbi with unknown fusing and byte
 * fallback), with their decoders. Not supported (UNSUPPORTED on load): the WordLevel model, BPE dropout;
 * and no pair encoding, truncation or padding.
 *
 * <p>Each component mirrors a file of {@code huggingface/tokenizers} under {@code tokenizers/src/}, named
 * in its javadoc. Offsets are UTF-16 indices into the input string.
 */
package dev.slimq.core.tokenizer;
