// A/B of the preprocessing pixel pass: an older commit's litepose::preprocess
// (renamed preprocess_old) against this checkout's, in one binary,
// interleaved, 60 rounds, and whether they give the same bits.
//
//   git show REV:csrc/image/preprocess.cpp | sed 's/^void preprocess(/void preprocess_old(/; \
//     s/^Affine official_affine(/static Affine unused_a(/; \
//     s/^PreprocessPlan plan_preprocess(/static PreprocessPlan unused_p(/' > /tmp/old.cpp
//   g++ -O3 -ffp-contract=off -std=c++17 -Icsrc/include -Icsrc -c /tmp/old.cpp -o /tmp/old.o
//   g++ -O2 -std=c++17 -Icsrc/include benchmarks/ab_preprocess.cpp /tmp/old.o \
//     build/dev/liblitepose_core.a -lpthread -o /tmp/ab_preprocess && /tmp/ab_preprocess
#include <chrono>
#include <cstdio>
#include <vector>
#include <algorithm>
#include <cstring>
#include "litepose/preprocess.h"
namespace litepose { void preprocess_old(const uint8_t*, size_t, bool, const PreprocessPlan&, float*); }
using namespace litepose;
int main(){
  for (auto hw : {std::pair<int,int>{426,640}, {448,448}, {256,256}}) for (int in : {256,448}) {
  int h=hw.first,w=hw.second;
  std::vector<uint8_t> img(h*w*3); for(size_t i=0;i<img.size();++i) img[i]=(i*2654435761u)>>24;
  auto p=plan_preprocess(h,w,in);
  std::vector<float> a(3*(size_t)p.height*p.width), b(a.size());
  std::vector<double> t[2];
  for(int r=0;r<60;++r) for(int v=0;v<2;++v){auto t0=std::chrono::steady_clock::now();
      if(v==0) preprocess_old(img.data(),w*3,false,p,a.data()); else preprocess(img.data(),w*3,false,p,b.data());
      t[v].push_back(std::chrono::duration<double,std::milli>(std::chrono::steady_clock::now()-t0).count());}
  for(auto& x:t) std::sort(x.begin(),x.end());
  printf("image %dx%d -> %dx%d: old %.2f ms, new %.2f ms (medians), %.2fx, identical %d\n", w,h,p.width,p.height,t[0][30],t[1][30],t[0][30]/t[1][30], (int)(memcmp(a.data(),b.data(),a.size()*4)==0));
  }
}
