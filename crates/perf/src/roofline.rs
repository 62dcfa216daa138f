//! The roofline estimator: training time and memory fit from model size and chip specs.
