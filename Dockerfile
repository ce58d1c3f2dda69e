# The image of `plumb run` (deploy/ installs it): plumb and plumb-runtime on
# Debian 12 with libgit2 1.8 from bookworm-backports, built the way
# README.md builds them, and helm.
#
#   docker build -t registry.example.com/plumb:0.1.0 .
#
# The recipe for a machine with a container engine. `make image`
# (deploy/image.sh) makes the same image without one, from the programs
# `make` built and Debian's packages (mmdebstrap, umoci), and that is the
# image the tests run (tests/image, tests/kube/deploy.sh); this file is not
# built by them. Both take their packages from deploy/image.packages.

# helm, which renders the Helm charts a build takes, built from its Go
# module by the script the tests build it with.
FROM golang:1.26-bookworm AS helm
COPY tests/gotool.sh /gotool.sh
RUN PLUMB_CACHE=/cache GOTOOLCHAIN=local /gotool.sh helm && cp /cache/bin-helm-*/helm /helm

FROM debian:bookworm AS build
WORKDIR /src
# What `make deps` installs on a developer's machine (make among them, so
# the script is run directly); copied alone first so that the layer
# survives changes to the sources.
COPY .ci/deps .ci/deps
RUN sh .ci/deps
COPY . .
RUN make -j"$(nproc)"

FROM debian:bookworm-slim
# The packages deploy/image.packages lists and says why: the shared
# libraries the two programs link, GnuPG and the CAs. libgit2 1.8 is in
# bookworm-backports only (.ci/deps builds against it); the rest, its own
# dependencies too, comes from bookworm.
COPY deploy/image.packages /tmp/image.packages
RUN sed -n '1,/^$/{s/^Suites:.*/Suites: bookworm-backports/;p}' /etc/apt/sources.list.d/debian.sources \
      > /etc/apt/sources.list.d/bookworm-backports.sources \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(sed 's/#.*//' /tmp/image.packages) \
 && rm -rf /var/lib/apt/lists/* /tmp/image.packages
# A numeric user, so that runAsNonRoot can check it; the cache is its own
# when no volume is mounted there.
RUN groupadd --system --gid 65532 plumb \
 && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin plumb \
 && install -d -o 65532 -g 65532 /var/cache/plumb
# Side by side: plumb runs plumb-runtime from its own directory.
COPY --from=build /src/build/plumb /src/build/plumb-runtime /usr/local/bin/
COPY --from=helm /helm /usr/local/bin/helm
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["plumb"]
