// The assignment solver of the official grouping: a replica of the `munkres`
// Python package, version 1.1.4 (Munkres.compute), step for step.
//
// Why a replica and not a faster Hungarian: the official cost rounds tag
// distances (round(dist) * 100 - val), so many assignment problems have
// several optimal answers; which one comes out depends on the solver's scan
// order.  LitePose was published against munkres 1.1.4, a step-based
// Munkres; 3.0.0 breaks ties differently (AP 0.470 vs 0.467 on coco-kp-105).
// We reproduce 1.1.4 exactly:
//   * the matrix is padded to square with zeros (rows, here, as the caller
//     pads columns itself);
//   * step 1 subtracts each row's minimum; step 2 stars the first zero of
//     each row (row-major) whose row and column are free;
//   * step 4's __find_a_zero(i0, j0) scans rows cyclically from i0 and, in
//     the first row holding an uncovered zero, keeps the LAST such zero in
//     the cyclic column order starting at j0 (its inner loop does not stop at
//     the first hit); step 4 restarts from (0, 0) on entry and continues from
//     (row, star_col) after covering a row;
//   * step 6 adds the minimum to covered rows, then subtracts it from
//     uncovered columns, as two separate double operations per cell.
// All arithmetic is double, as numpy float64 / Python floats are.
#include "decode/decode_internal.h"

#include <string>

namespace litepose {

namespace {

class Munkres114 {
 public:
  Munkres114(const double* cost, int rows, int cols) : rows_(rows), cols_(cols) {
    n_ = rows > cols ? rows : cols;
    c_.assign(static_cast<size_t>(n_) * n_, 0.0);
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) c_[i * n_ + j] = cost[static_cast<size_t>(i) * cols + j];
    row_cov_.assign(n_, false);
    col_cov_.assign(n_, false);
    marked_.assign(static_cast<size_t>(n_) * n_, 0);
  }

  std::vector<std::pair<int, int>> compute() {
    int step = 1;
    long guard = 0;
    const long max_steps = 64L * n_ * n_ * n_ + 1000;
    while (step != 7) {
      if (++guard > max_steps)
        throw Error("munkres: no solution after " + std::to_string(max_steps) +
                    " steps (non-finite costs?)");
      switch (step) {
        case 1: step = step1(); break;
        case 2: step = step2(); break;
        case 3: step = step3(); break;
        case 4: step = step4(); break;
        case 5: step = step5(); break;
        case 6: step = step6(); break;
        default: step = 7;
      }
    }
    std::vector<std::pair<int, int>> out;
    for (int i = 0; i < rows_; ++i)
      for (int j = 0; j < cols_; ++j)
        if (mk(i, j) == 1) out.emplace_back(i, j);
    return out;
  }

 private:
  double& C(int i, int j) { return c_[static_cast<size_t>(i) * n_ + j]; }
  int& mk(int i, int j) { return marked_[static_cast<size_t>(i) * n_ + j]; }

  int step1() {
    for (int i = 0; i < n_; ++i) {
      double minval = C(i, 0);
      for (int j = 1; j < n_; ++j)
        if (C(i, j) < minval) minval = C(i, j);  // Python min(): first minimum
      for (int j = 0; j < n_; ++j) C(i, j) -= minval;
    }
    return 2;
  }
  int step2() {
    for (int i = 0; i < n_; ++i)
      for (int j = 0; j < n_; ++j)
        if (C(i, j) == 0 && !col_cov_[j] && !row_cov_[i]) {
          mk(i, j) = 1;
          col_cov_[j] = true;
          row_cov_[i] = true;
          break;
        }
    clear_covers();
    return 3;
  }
  int step3() {
    int count = 0;
    for (int i = 0; i < n_; ++i)
      for (int j = 0; j < n_; ++j)
        if (mk(i, j) == 1 && !col_cov_[j]) {
          col_cov_[j] = true;
          count++;
        }
    return count >= n_ ? 7 : 4;
  }
  int step4() {
    int row = 0, col = 0;
    while (true) {
      find_a_zero(row, col, &row, &col);
      if (row < 0) return 6;
      mk(row, col) = 2;
      const int star_col = find_star_in_row(row);
      if (star_col >= 0) {
        col = star_col;
        row_cov_[row] = true;
        col_cov_[col] = false;
      } else {
        z0_r_ = row;
        z0_c_ = col;
        return 5;
      }
    }
  }
  int step5() {
    std::vector<std::pair<int, int>> path;
    path.emplace_back(z0_r_, z0_c_);
    while (true) {
      const int row = find_star_in_col(path.back().second);
      if (row < 0) break;
      path.emplace_back(row, path.back().second);
      const int col = find_prime_in_row(path.back().first);
      path.emplace_back(path.back().first, col);
    }
    for (auto& p : path) mk(p.first, p.second) = mk(p.first, p.second) == 1 ? 0 : 1;
    clear_covers();
    for (auto& m : marked_)
      if (m == 2) m = 0;
    return 3;
  }
  int step6() {
    const double minval = find_smallest();
    int events = 0;
    for (int i = 0; i < n_; ++i)
      for (int j = 0; j < n_; ++j) {
        if (row_cov_[i]) {
          C(i, j) += minval;
          events++;
        }
        if (!col_cov_[j]) {
          C(i, j) -= minval;
          events++;
        }
        if (row_cov_[i] && !col_cov_[j]) events -= 2;
      }
    if (events == 0) throw Error("munkres: matrix cannot be solved");
    return 4;
  }
  double find_smallest() {
    double minval = 9223372036854775807.0;  // sys.maxsize
    for (int i = 0; i < n_; ++i)
      for (int j = 0; j < n_; ++j)
        if (!row_cov_[i] && !col_cov_[j] && minval > C(i, j)) minval = C(i, j);
    return minval;
  }
  void find_a_zero(int i0, int j0, int* out_row, int* out_col) {
    int row = -1, col = -1;
    int i = i0;
    bool done = false;
    while (!done) {
      int j = j0;
      while (true) {
        if (C(i, j) == 0 && !row_cov_[i] && !col_cov_[j]) {
          row = i;
          col = j;
          done = true;  // but keeps scanning this row, as 1.1.4 does
        }
        j = (j + 1) % n_;
        if (j == j0) break;
      }
      i = (i + 1) % n_;
      if (i == i0) done = true;
    }
    *out_row = row;
    *out_col = col;
  }
  int find_star_in_row(int row) {
    for (int j = 0; j < n_; ++j)
      if (mk(row, j) == 1) return j;
    return -1;
  }
  int find_star_in_col(int col) {
    for (int i = 0; i < n_; ++i)
      if (mk(i, col) == 1) return i;
    return -1;
  }
  int find_prime_in_row(int row) {
    for (int j = 0; j < n_; ++j)
      if (mk(row, j) == 2) return j;
    return -1;
  }
  void clear_covers() {
    std::fill(row_cov_.begin(), row_cov_.end(), false);
    std::fill(col_cov_.begin(), col_cov_.end(), false);
  }

  int rows_, cols_, n_;
  std::vector<double> c_;
  std::vector<bool> row_cov_, col_cov_;
  std::vector<int> marked_;
  int z0_r_ = 0, z0_c_ = 0;
};

}  // namespace

std::vector<std::pair<int, int>> munkres_1_1_4(const double* cost,  // RxC
                                               int rows, int cols) {
  if (rows < 0 || cols < 0)
    throw InputError("munkres_1_1_4: expected rows, cols >= 0, got " + std::to_string(rows) +
                     " x " + std::to_string(cols));
  if (rows == 0 || cols == 0) return {};
  return Munkres114(cost, rows, cols).compute();
}

}  // namespace litepose
