/// <reference lib="dom" />
// The 3-D drawing mannequin editor (three.js), one module for the playground and the Figma UI. It only
// draws and takes the pointer: the skeleton, its limits and the projection to OpenPose keypoints are
// core/src/control/mannequin.ts, so the keypoints a fill gets do not depend on how the scene is drawn. The
// viewport has the generation size's aspect and the scene's camera, so a joint's keypoint is exactly where
// its handle appears on screen.
import {
  AmbientLight, CylinderGeometry, DirectionalLight, GridHelper, Mesh, MeshLambertMaterial, PerspectiveCamera, Plane, Raycaster,
  Scene, SphereGeometry, Vector2, Vector3, WebGLRenderer, type Object3D,
} from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import {
  aimJoint, DEFAULT_MANNEQUIN_CAMERA, hingeAxis, jointPositions, jointTurnedBy, MANNEQUIN_JOINTS, MANNEQUIN_PRESETS, type MannequinPose,
  type MannequinScene, mirrorPose, PoseHistory, projectScene, type Vec3,
} from '@kirie/core/control/mannequin';
import { BODY_KEYPOINTS, type PoseDocument, type PoseJson, toPoseJson } from '@kirie/core/control/openpose';
import { COLORS, renderPose } from '@kirie/core/control/render';

/** Bones drawn as rods: each joint to its parent (the head's small bones are drawn as the head). */
const RODS: readonly [string, string][] = [
  ['pelvis', 'neck'], ['neck', 'nose'], ['neck', 'right_shoulder'], ['right_shoulder', 'right_elbow'], ['right_elbow', 'right_wrist'],
  ['neck', 'left_shoulder'], ['left_shoulder', 'left_elbow'], ['left_elbow', 'left_wrist'], ['pelvis', 'right_hip'], ['right_hip', 'right_knee'],
  ['right_knee', 'right_ankle'], ['pelvis', 'left_hip'], ['left_hip', 'left_knee'], ['left_knee', 'left_ankle'],
];
const WOOD = 0xd8b48a;
const SELECTED_WOOD = 0xe8c9a2;
/** Metres between figures when one is added. */
const FIGURE_SPACING = 0.8;

export interface MannequinEditorOptions {
  /** The generation size the keypoints are for: the viewport takes its aspect. */
  width: number;
  height: number;
  /** CSS pixels the viewport is wide (default: the container's width). */
  viewWidth?: number;
  /** Called after every finished change (drag, preset, mirror, undo, camera move). */
  onChange?: (scene: MannequinScene) => void;
}

interface FigureView {
  handles: Map<string, Mesh>;
  rods: Mesh[];
  head: Mesh;
}

const v3 = (p: Vec3) => new Vector3(p[0], p[1], p[2]);
const rgb = (c: readonly number[]) => (c[0]! << 16) | (c[1]! << 8) | c[2]!;

export class MannequinEditor {
  readonly element: HTMLElement;
  private readonly renderer: WebGLRenderer;
  private readonly camera: PerspectiveCamera;
  private readonly controls: OrbitControls;
  private readonly scene3d = new Scene();
  private readonly history: PoseHistory<MannequinPose[]>;
  private readonly views: FigureView[] = [];
  private figures: MannequinPose[];
  private selected = 0;
  private width: number;
  private height: number;
  private readonly viewWidth: number;
  private readonly preview: HTMLCanvasElement;
  private readonly json: HTMLTextAreaElement;
  private readonly turn: HTMLInputElement;
  private drag: { figure: number; joint: string | null; plane: Plane; moved: boolean } | null = null;

  constructor(container: HTMLElement, private readonly options: MannequinEditorOptions) {
    this.width = options.width;
    this.height = options.height;
    this.viewWidth = options.viewWidth ?? Math.max(200, container.clientWidth);
    this.figures = [MANNEQUIN_PRESETS.standing!];
    this.history = new PoseHistory(this.figures);
    this.element = document.createElement('div');
    this.element.className = 'mannequin-editor';
    const canvas = document.createElement('canvas');
    canvas.className = 'mannequin-view';
    canvas.style.touchAction = 'none';
    this.preview = document.createElement('canvas');
    this.preview.className = 'mannequin-control';
    this.preview.title = 'The OpenPose control image the fill gets';
    this.json = Object.assign(document.createElement('textarea'), { readOnly: true, rows: 3, className: 'mannequin-json' });
    this.json.setAttribute('aria-label', 'Pose as OpenPose JSON');
    this.turn = Object.assign(document.createElement('input'), { type: 'range', min: '-180', max: '180', step: '5', value: '0', className: 'mannequin-turn' });
    this.turn.setAttribute('aria-label', 'Turn the selected figure');
    // Layout inline, so both hosts' pages show it alike without a style sheet of their own.
    const toolbar = this.toolbar();
    toolbar.style.cssText = 'display:flex;flex-wrap:wrap;gap:4px;align-items:center;margin:4px 0';
    canvas.style.display = 'block';
    this.preview.style.cssText = 'display:block;width:96px;margin-top:4px;image-rendering:pixelated';
    this.json.style.cssText = 'display:block;width:100%;box-sizing:border-box;font:10px ui-monospace,monospace;margin-top:4px';
    this.element.append(toolbar, canvas, this.preview, this.json);
    container.append(this.element);

    this.renderer = new WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(Math.min(2, globalThis.devicePixelRatio || 1));
    this.renderer.setClearColor(0x30343a);
    this.camera = new PerspectiveCamera(DEFAULT_MANNEQUIN_CAMERA.fov, 1, 0.1, 100);
    // Picking first: registered before OrbitControls' own listener, it can turn orbiting off for a joint drag.
    canvas.addEventListener('pointerdown', (e) => this.pointerDown(e));
    canvas.addEventListener('pointermove', (e) => this.pointerMove(e));
    canvas.addEventListener('pointerup', (e) => this.pointerUp(e));
    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.addEventListener('change', () => this.draw());
    this.controls.addEventListener('end', () => this.changed());
    this.scene3d.add(new AmbientLight(0xffffff, 1.6), new GridHelper(10, 20, 0x777777, 0x4a4a4a));
    const sun = new DirectionalLight(0xffffff, 2);
    sun.position.set(2, 4, 3);
    this.scene3d.add(sun);
    this.setCamera(DEFAULT_MANNEQUIN_CAMERA);
    this.resize();
    this.rebuild();
  }

  /** The figures and the camera, as the recipe keeps them. */
  get scene(): MannequinScene {
    const p = this.camera.position;
    const t = this.controls.target;
    return { figures: this.figures, camera: { position: [p.x, p.y, p.z], target: [t.x, t.y, t.z], fov: this.camera.fov } };
  }

  /** Opens a stored scene (Remake); undo goes back to what was there before. */
  setScene(scene: MannequinScene): void {
    this.setCamera(scene.camera);
    this.commit(scene.figures.map((f) => ({ position: f.position, rotations: { ...f.rotations } })));
    this.selected = 0;
    this.rebuild();
  }

  /** A new generation size: the viewport follows its aspect. */
  setSize(width: number, height: number): void {
    if (width === this.width && height === this.height) return;
    [this.width, this.height] = [width, height];
    this.resize();
    this.refresh();
  }

  /** The figures as OpenPose keypoints at the generation size. */
  keypoints(): PoseDocument {
    return projectScene(this.scene, this.width, this.height);
  }

  poseJson(): PoseJson {
    return toPoseJson(this.keypoints());
  }

  private toolbar(): HTMLElement {
    const bar = document.createElement('div');
    bar.className = 'mannequin-toolbar';
    const button = (label: string, title: string, action: () => void) => {
      const b = Object.assign(document.createElement('button'), { type: 'button', textContent: label, title });
      b.dataset.action = label.toLowerCase().replace(/\W+/g, '-');
      b.addEventListener('click', action);
      return b;
    };
    const presets = document.createElement('select');
    presets.className = 'mannequin-preset';
    presets.setAttribute('aria-label', 'Preset pose for the selected figure');
    presets.append(new Option('Preset…', ''), ...Object.keys(MANNEQUIN_PRESETS).map((name) => new Option(name, name)));
    presets.addEventListener('change', () => {
      if (presets.value) this.applyPreset(presets.value);
      presets.value = '';
    });
    this.turn.addEventListener('input', () => this.turnSelected(Number(this.turn.value), false));
    this.turn.addEventListener('change', () => this.turnSelected(Number(this.turn.value), true));
    const turnLabel = document.createElement('label');
    turnLabel.append('Turn ', this.turn);
    bar.append(
      presets,
      button('Mirror', 'Swap the selected figure\'s left and right', () => this.mirror()),
      button('Undo', 'Undo (Ctrl+Z)', () => this.undo()),
      button('Redo', 'Redo (Ctrl+Shift+Z)', () => this.redo()),
      button('Add figure', 'Another mannequin beside the others', () => this.addFigure()),
      button('Remove figure', 'Remove the selected figure', () => this.removeFigure()),
      turnLabel,
    );
    this.element.tabIndex = 0;
    this.element.addEventListener('keydown', (e) => {
      if (!(e.ctrlKey || e.metaKey) || e.key.toLowerCase() !== 'z') return;
      e.preventDefault();
      if (e.shiftKey) this.redo();
      else this.undo();
    });
    return bar;
  }

  applyPreset(name: string): void {
    const preset = MANNEQUIN_PRESETS[name];
    if (!preset) throw new Error(`no mannequin preset "${name}" (presets: ${Object.keys(MANNEQUIN_PRESETS).join(', ')})`);
    // The preset's body where the figure stands now (its height above the ground is the preset's).
    const at = this.figures[this.selected]!.position;
    const turnY = this.figures[this.selected]!.rotations.pelvis?.[1] ?? 0;
    const pelvis = preset.rotations.pelvis ?? [0, 0, 0];
    this.replaceSelected({ position: [at[0], preset.position[1], at[2]], rotations: { ...preset.rotations, pelvis: [pelvis[0], turnY, pelvis[2]] } });
  }

  private mirror(): void {
    const figure = this.figures[this.selected]!;
    this.replaceSelected({ ...mirrorPose(figure), position: figure.position });
  }

  private addFigure(): void {
    const rightmost = Math.max(...this.figures.map((f) => f.position[0]));
    const base = MANNEQUIN_PRESETS.standing!;
    this.commit([...this.figures, { position: [rightmost + FIGURE_SPACING, base.position[1], 0], rotations: { ...base.rotations } }]);
    this.selected = this.figures.length - 1;
    this.rebuild();
  }

  private removeFigure(): void {
    if (this.figures.length === 1) return;
    this.commit(this.figures.filter((_, i) => i !== this.selected));
    this.selected = Math.min(this.selected, this.figures.length - 1);
    this.rebuild();
  }

  private turnSelected(degrees: number, finished: boolean): void {
    const figure = this.figures[this.selected]!;
    const pelvis = figure.rotations.pelvis ?? [0, 0, 0];
    const turned = { position: figure.position, rotations: { ...figure.rotations, pelvis: [pelvis[0], degrees, pelvis[2]] as const } };
    if (finished) this.replaceSelected(turned);
    else {
      this.figures = this.figures.map((f, i) => (i === this.selected ? turned : f));
      this.refresh(false);
    }
  }

  private undo(): void {
    this.figures = this.history.undo();
    this.selected = Math.min(this.selected, this.figures.length - 1);
    this.rebuild();
  }

  private redo(): void {
    this.figures = this.history.redo();
    this.rebuild();
  }

  private replaceSelected(figure: MannequinPose): void {
    this.commit(this.figures.map((f, i) => (i === this.selected ? figure : f)));
    this.refresh();
  }

  private commit(figures: MannequinPose[]): void {
    this.history.push(figures);
    this.figures = figures;
  }

  private setCamera(camera: MannequinScene['camera']): void {
    this.camera.fov = camera.fov;
    this.camera.near = camera.near ?? 0.1;
    this.camera.position.copy(v3(camera.position));
    this.controls.target.copy(v3(camera.target));
    this.camera.updateProjectionMatrix();
    this.controls.update();
  }

  private resize(): void {
    const cssHeight = Math.round((this.viewWidth * this.height) / this.width);
    this.renderer.setSize(this.viewWidth, cssHeight);
    this.camera.aspect = this.width / this.height;
    this.camera.updateProjectionMatrix();
  }

  /** New meshes for every figure (after figures were added, removed or replaced wholesale). */
  private rebuild(): void {
    for (const view of this.views.splice(0)) this.scene3d.remove(...view.handles.values(), ...view.rods, view.head);
    this.figures.forEach((_, index) => {
      const handles = new Map<string, Mesh>();
      for (const joint of MANNEQUIN_JOINTS) {
        const keypoint = BODY_KEYPOINTS.indexOf(joint as (typeof BODY_KEYPOINTS)[number]);
        const draggable = joint === 'pelvis' || jointTurnedBy(joint) !== null;
        const mesh = new Mesh(new SphereGeometry(draggable ? 0.045 : 0.02, 16, 12), new MeshLambertMaterial({ color: keypoint >= 0 ? rgb(COLORS[keypoint]!) : 0xffffff }));
        mesh.userData = { figure: index, joint, draggable };
        handles.set(joint, mesh);
      }
      const rods = RODS.map(() => new Mesh(new CylinderGeometry(0.03, 0.03, 1, 12), new MeshLambertMaterial({ color: WOOD })));
      const head = new Mesh(new SphereGeometry(0.1, 20, 16), new MeshLambertMaterial({ color: WOOD, transparent: true, opacity: 0.55 }));
      this.views.push({ handles, rods, head });
      this.scene3d.add(...handles.values(), ...rods, head);
    });
    this.refresh();
  }

  /** Moves the meshes to the pose, redraws, and refreshes the control image and JSON. */
  private refresh(finished = true): void {
    this.figures.forEach((figure, index) => {
      const view = this.views[index]!;
      const joints = jointPositions(figure);
      for (const [joint, mesh] of view.handles) mesh.position.copy(v3(joints[joint]!));
      RODS.forEach(([a, b], i) => placeRod(view.rods[i]!, v3(joints[a]!), v3(joints[b]!)));
      const ears = v3(joints.left_ear!).add(v3(joints.right_ear!)).multiplyScalar(0.5);
      view.head.position.copy(ears.lerp(v3(joints.nose!), 0.4));
      const wood = index === this.selected && this.figures.length > 1 ? SELECTED_WOOD : WOOD;
      for (const rod of view.rods) (rod.material as MeshLambertMaterial).color.setHex(wood);
    });
    this.turn.value = String(this.figures[this.selected]!.rotations.pelvis?.[1] ?? 0);
    this.draw();
    if (finished) this.changed();
  }

  private draw(): void {
    this.renderer.render(this.scene3d, this.camera);
  }

  /** The control image (the exact ControlNet renderer, at the generation size) and the JSON, then the host hears of it. */
  private changed(): void {
    const doc = this.keypoints();
    const image = renderPose(doc);
    Object.assign(this.preview, { width: image.width, height: image.height });
    const rgba = new ImageData(image.width, image.height);
    for (let i = 0, j = 0; i < image.data.length; i += 3, j += 4) rgba.data.set([image.data[i]!, image.data[i + 1]!, image.data[i + 2]!, 255], j);
    this.preview.getContext('2d')!.putImageData(rgba, 0, 0);
    this.json.value = JSON.stringify(toPoseJson(doc));
    this.options.onChange?.(this.scene);
  }

  private ray(e: PointerEvent): Raycaster {
    const rect = this.renderer.domElement.getBoundingClientRect();
    const ndc = new Vector2(((e.clientX - rect.left) / rect.width) * 2 - 1, -((e.clientY - rect.top) / rect.height) * 2 + 1);
    const raycaster = new Raycaster();
    raycaster.setFromCamera(ndc, this.camera);
    return raycaster;
  }

  private pointerDown(e: PointerEvent): void {
    const handles: Object3D[] = this.views.flatMap((v) => [...v.handles.values()].filter((m) => m.userData.draggable));
    const hit = this.ray(e).intersectObjects(handles, false)[0];
    if (!hit) return;
    const { figure, joint } = hit.object.userData as { figure: number; joint: string };
    // The pelvis moves the figure over the floor; any other handle turns the joint above it, following the
    // pointer in the plane facing the camera, or, for an elbow or knee, in the plane it swings in (unless
    // that plane is seen nearly edge-on).
    const turned = joint === 'pelvis' ? null : jointTurnedBy(joint)!;
    const view = this.camera.getWorldDirection(new Vector3());
    const axis = turned ? hingeAxis(this.figures[figure]!, turned) : null;
    const normal = joint === 'pelvis' ? new Vector3(0, 1, 0) : axis && Math.abs(v3(axis).dot(view)) > 0.35 ? v3(axis) : view;
    const through = turned ? this.views[figure]!.handles.get(turned)!.position : hit.object.position;
    this.drag = { figure, joint: turned, plane: new Plane().setFromNormalAndCoplanarPoint(normal, through.clone()), moved: false };
    this.controls.enabled = false;
    this.renderer.domElement.setPointerCapture(e.pointerId);
    if (this.selected !== figure) {
      this.selected = figure;
      this.refresh(false);
    }
  }

  private pointerMove(e: PointerEvent): void {
    if (!this.drag) return;
    const point = this.ray(e).ray.intersectPlane(this.drag.plane, new Vector3());
    if (!point) return;
    const figure = this.figures[this.drag.figure]!;
    const next = this.drag.joint
      ? aimJoint(figure, this.drag.joint, [point.x, point.y, point.z])
      : { position: [point.x, figure.position[1], point.z] as const, rotations: figure.rotations };
    this.figures = this.figures.map((f, i) => (i === this.drag!.figure ? next : f));
    this.drag.moved = true;
    this.refresh(false);
  }

  private pointerUp(e: PointerEvent): void {
    if (!this.drag) return;
    const { moved } = this.drag;
    this.drag = null;
    this.controls.enabled = true;
    this.renderer.domElement.releasePointerCapture(e.pointerId);
    if (moved) {
      this.commit(this.figures);
      this.changed();
    }
  }
}

/** A unit-height cylinder stretched and turned to run from `a` to `b`. */
function placeRod(rod: Mesh, a: Vector3, b: Vector3): void {
  const along = b.clone().sub(a);
  rod.position.copy(a).addScaledVector(along, 0.5);
  rod.scale.set(1, Math.max(1e-6, along.length()), 1);
  rod.quaternion.setFromUnitVectors(new Vector3(0, 1, 0), along.normalize());
}
