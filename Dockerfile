# kasm-gitops: the `kasm-gitops run` reconciler, to run beside Kasm agents (see examples/deploy/).
#
#   docker build -t kasm-gitops .
#   docker build --build-arg BASE_IMAGE=registry.example.com/mirror/node:20-bookworm-slim -t kasm-gitops .
#
# BASE_IMAGE must provide Node.js >= 20.11 with npm and /bin/sh. kasm-gitops needs git at run time, and gpg
# and ssh-keygen for --verify-commits: what the base lacks is installed with apt-get (Debian/Ubuntu bases, such
# as the default, with network access during the build); a base lacking them without apt-get fails the build.
# Plain Dockerfile syntax only (no BuildKit features), so the classic builder works as well.
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
# For builds behind a registry mirror or a TLS-inspecting proxy; unset by default.
ARG NPM_CONFIG_REGISTRY
ARG NPM_CONFIG_CAFILE
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
COPY . .
# One layer: install, compile, keep production dependencies only, and stage what the runtime needs (the
# lab and the benchmarks are development tools: .dockerignore leaves them out, and so does this step, for
# build clients that do not apply .dockerignore to subfolders).
RUN npm ci --ignore-scripts --no-audit --no-fund \
  && npm run build \
  && rm -rf dist/lab dist/bench dist/docs \
  && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
  && mkdir -p /out schemas examples \
  && mv dist schemas examples package.json node_modules /out/

FROM ${BASE_IMAGE}
COPY --from=build /out /opt/kasm-gitops
RUN set -e; \
  missing=""; \
  command -v git >/dev/null 2>&1 || missing="$missing git ca-certificates"; \
  command -v ssh-keygen >/dev/null 2>&1 || missing="$missing openssh-client"; \
  command -v gpg >/dev/null 2>&1 || missing="$missing gpg"; \
  if [ -n "$missing" ]; then \
    if command -v apt-get >/dev/null 2>&1; then \
      apt-get update \
      && apt-get install -y --no-install-recommends $missing \
      && rm -rf /var/lib/apt/lists/*; \
    else \
      echo "kasm-gitops needs git, gpg and ssh-keygen at run time: this base image lacks${missing}" \
        "and has no apt-get; build with --build-arg BASE_IMAGE=<an image with node, git, gpg, ssh-keygen>" >&2; \
      exit 1; \
    fi; \
  fi; \
  git --version; \
  gpg --version >/dev/null; \
  command -v ssh-keygen; \
  printf '#!/bin/sh\nexec node /opt/kasm-gitops/dist/cli/main.js "$@"\n' > /usr/local/bin/kasm-gitops; \
  chmod 755 /usr/local/bin/kasm-gitops; \
  echo 'kasm-gitops:x:10001:10001:kasm-gitops:/var/lib/kasm-gitops:/usr/sbin/nologin' >> /etc/passwd; \
  echo 'kasm-gitops:x:10001:' >> /etc/group; \
  mkdir -p /var/lib/kasm-gitops; \
  chown 10001:10001 /var/lib/kasm-gitops

# Flags mirror these variables (KASM_GITOPS_<FLAG>); set KASM_GITOPS_REPO, and the registry secrets
# the manifests reference with {env: NAME}, when running the container.
ENV NODE_ENV=production \
  KASM_GITOPS_STATE_DIR=/var/lib/kasm-gitops \
  KASM_GITOPS_LISTEN=0.0.0.0:8080
# A dedicated unprivileged user; give it the Docker socket's group to reach a local agent
# (docker run --group-add "$(stat -c %g /var/run/docker.sock)").
USER 10001:10001
VOLUME ["/var/lib/kasm-gitops"]
EXPOSE 8080
# Slim images have no curl: node itself probes /healthz on the port KASM_GITOPS_LISTEN names.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.KASM_GITOPS_LISTEN||':8080').split(':').pop()+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["kasm-gitops"]
CMD ["run"]
